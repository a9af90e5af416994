//! The programs and the library the shell tasks run — UniFFI's `uniffi-bindgen`, the core's
//! `codegen`, `libkvits_native.so` — taken from the one native build every task shares.
//!
//! That build is `cargo build --workspace --all-features --all-targets` in the dev profile:
//! every target, so dev-dependencies take part in feature resolution exactly as in `cargo test
//! --workspace --all-features`, and the `test` profile is `dev` unchanged. The tests, these
//! tools and the library the Kotlin and Swift tests load are therefore compiled once. (Built
//! with `--lib --bins` only, some crates resolve fewer features — `time`, `rand`, `memchr` and
//! others that only dev-dependencies turn on — and the tests then build a second copy of much
//! of the tree, the server and the core included.) Running a tool with `cargo run -p <its
//! package>` would likewise resolve features for that package alone and build another copy.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// Cargo's arguments for the shared native build of every library, program and test.
pub const BUILD_ARGS: &[&str] = &["build", "--workspace", "--all-features", "--all-targets"];

/// Where the shared build put its programs and libraries.
#[derive(Debug)]
pub struct Tools {
    dir: PathBuf,
}

impl Tools {
    /// Builds (or finds up to date) every library, program and test of the workspace.
    pub fn build(cargo: &str) -> anyhow::Result<Tools> {
        let status = Command::new(cargo)
            .args(BUILD_ARGS)
            .status()
            .context("starting cargo build")?;
        if !status.success() {
            bail!("cargo {} failed ({status})", BUILD_ARGS.join(" "));
        }
        let dir = crate::test::find_target_dir(cargo)?.join("debug");
        Ok(Tools { dir })
    }

    /// UniFFI's binding generator, built from the same uniffi version as the library.
    pub fn uniffi_bindgen(&self) -> anyhow::Result<PathBuf> {
        self.program("uniffi-bindgen")
    }

    /// The core's type generator (facet typegen) for Swift, Kotlin and TypeScript.
    pub fn codegen(&self) -> anyhow::Result<PathBuf> {
        self.program("codegen")
    }

    /// The upload's conformance harness over HTTP (`tests/conformance`), for the web driver.
    pub fn upload_conformance(&self) -> anyhow::Result<PathBuf> {
        self.program("kvits-upload-conformance")
    }

    /// `libkvits_native` as a shared library: what the Kotlin and Swift tests load.
    pub fn native_library(&self) -> anyhow::Result<PathBuf> {
        ["so", "dylib", "dll"]
            .iter()
            .map(|ext| self.dir.join(format!("libkvits_native.{ext}")))
            .find(|p| p.is_file())
            .with_context(|| {
                format!(
                    "the built kvits-native library is not in {}",
                    self.dir.display()
                )
            })
    }

    /// The directory holding [`Tools::native_library`].
    pub fn library_dir(&self) -> &Path {
        &self.dir
    }

    fn program(&self, name: &str) -> anyhow::Result<PathBuf> {
        let path = self
            .dir
            .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
        if !path.is_file() {
            bail!("{} was not built", path.display());
        }
        Ok(path)
    }
}

/// Arguments for the core's type generator writing `language` into `out`.
pub fn codegen_args(language: &str, out: &Path) -> Vec<String> {
    ["--language", language, "--output-dir"]
        .iter()
        .map(|a| (*a).to_string())
        .chain([out.display().to_string()])
        .collect()
}
