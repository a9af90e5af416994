//! `cargo xtask swift ...`: the iOS package (`ios/KvitsKit`).
//!
//! `swift test` runs the package's tests on Linux against the real Rust library and a real sync
//! server: Swift comes from Debian trixie's `swiftlang`, installed in a chroot made with
//! `debootstrap` (docs/design.md §6) and kept in a cache outside the clone. Each run generates the
//! bindings, copies the package, the generated sources, `libkvits_native.so` and the receipt
//! fixtures into the chroot (`/kvits/...`, only files that changed, so SwiftPM's build dir there
//! stays valid and runs are incremental), starts a demo server on the host's loopback (a chroot
//! shares the network) and runs `swift test` inside. Needs root (debootstrap, chroot, mount).
//!
//! `swift sources` copies the generated sources into `ios/KvitsKit` itself (git-ignored there),
//! for building the package or the app with Xcode.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};

/// Where the chroot lives unless `KVITS_SWIFT_CHROOT` says otherwise.
const CHROOT_ENV: &str = "KVITS_SWIFT_CHROOT";
/// A Debian mirror for debootstrap (default: debootstrap's own default).
const MIRROR_ENV: &str = "KVITS_DEBIAN_MIRROR";
/// Where, inside the chroot, everything this command copies goes.
const IN_CHROOT: &str = "kvits";
const PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

pub fn run(args: &[String]) -> anyhow::Result<()> {
    match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("sources") => sources(),
        _ => bail!(
            "usage: cargo xtask swift test      the package's tests on Linux (Debian trixie chroot)\n\
             \x20      cargo xtask swift sources   copy the generated sources into ios/KvitsKit"
        ),
    }
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// The repository root (the parent of `xtask/`).
fn repo_root() -> anyhow::Result<PathBuf> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map(Path::to_path_buf)
        .context("xtask has no parent directory")
}

pub fn test() -> anyhow::Result<()> {
    let cargo = cargo();
    let root = repo_root()?;
    let chroot = chroot_dir()?;

    let started = Instant::now();
    let created = ensure_chroot(&chroot)?;
    let chroot_time = started.elapsed();
    if created {
        eprintln!(
            "swift: chroot created in {:.1} s",
            chroot_time.as_secs_f64()
        );
    }

    let started = Instant::now();
    let target = crate::test::find_target_dir(&cargo)?;
    // Our own directory: other commands write `target/bindings` and may run at the same time.
    let bindings = target.join("swift").join("bindings");
    let built = crate::tools::Tools::build(&cargo)?;
    crate::bindings::generate(&built, &bindings)?;
    let library = built.native_library()?;
    let base = chroot.join(IN_CHROOT);
    let package = base.join("KvitsKit");
    assemble(&root.join("ios").join("KvitsKit"), &bindings, &package)?;
    sync_file(&library, &base.join("lib").join("libkvits_native.so"))?;
    // The test build's library decodes with libjpeg-turbo (the workspace builds kvits-imaging
    // with `turbo`), which the chroot lacks: the host's copy goes where its linker looks.
    let turbo = Path::new("/usr/lib/x86_64-linux-gnu/libturbojpeg.so.0");
    sync_file(
        turbo,
        &chroot.join("usr/lib/x86_64-linux-gnu/libturbojpeg.so.0"),
    )?;
    sync_dir(
        &root
            .join("tests")
            .join("fixtures")
            .join("receipts")
            .join("scans"),
        &base.join("fixtures"),
        &[],
    )?;
    let bindings_time = started.elapsed();

    let _proc = ProcMount::mount(&chroot)?;
    let lib = format!("/{IN_CHROOT}/lib");
    let swift = |args: &[&str], env: &[String]| -> anyhow::Result<()> {
        let mut cmd = Command::new("chroot");
        cmd.arg(&chroot)
            .args(["/usr/bin/env", "-i", PATH, "HOME=/root", "LANG=C.UTF-8"])
            .args(env)
            .arg("swift")
            .args(args)
            .args(["--package-path", &format!("/{IN_CHROOT}/KvitsKit")])
            // Outside the package, so the package can be replaced file by file.
            .args(["--scratch-path", &format!("/{IN_CHROOT}/build")])
            .args(["-Xlinker", &format!("-L{lib}")]);
        let status = cmd
            .status()
            .with_context(|| format!("starting swift {} in the chroot", args.join(" ")))?;
        if !status.success() {
            bail!("swift {} failed in the chroot ({status})", args.join(" "));
        }
        Ok(())
    };

    let started = Instant::now();
    swift(&["build", "--build-tests"], &[])?;
    let build_time = started.elapsed();

    let server = crate::server::TestServer::start(None)?;
    let started = Instant::now();
    swift(
        &["test", "--skip-build"],
        &[
            format!("KVITS_SERVER_URL={}", server.url),
            format!("KVITS_FIXTURES=/{IN_CHROOT}/fixtures"),
            format!("LD_LIBRARY_PATH={lib}"),
        ],
    )?;
    let test_time = started.elapsed();
    drop(server);

    eprintln!(
        "swift: chroot {} {:.1} s, bindings + copy {:.1} s, swift build {:.1} s, swift test {:.1} s",
        if created { "created" } else { "reused" },
        chroot_time.as_secs_f64(),
        bindings_time.as_secs_f64(),
        build_time.as_secs_f64(),
        test_time.as_secs_f64(),
    );
    Ok(())
}

/// `cargo xtask swift sources`: the generated sources into `ios/KvitsKit`, for Xcode.
fn sources() -> anyhow::Result<()> {
    let cargo = cargo();
    let root = repo_root()?;
    let target = crate::test::find_target_dir(&cargo)?;
    let bindings = target.join("swift").join("bindings");
    crate::bindings::generate(&crate::tools::Tools::build(&cargo)?, &bindings)?;
    let package = root.join("ios").join("KvitsKit");
    copy_generated(&bindings, &package)?;
    eprintln!("generated sources copied into {}", package.display());
    Ok(())
}

fn chroot_dir() -> anyhow::Result<PathBuf> {
    if let Ok(dir) = std::env::var(CHROOT_ENV) {
        return Ok(PathBuf::from(dir));
    }
    let home = std::env::var("HOME").context("HOME is not set (or set KVITS_SWIFT_CHROOT)")?;
    Ok(PathBuf::from(home)
        .join(".cache")
        .join("kvits")
        .join("trixie-swift"))
}

/// Makes the chroot unless it is there. It is built under a temporary name and renamed when
/// Swift runs in it, so a directory with the final name is always complete. Returns whether
/// it was created.
fn ensure_chroot(dir: &Path) -> anyhow::Result<bool> {
    // `usr/bin/swift` is a symlink with an absolute target, valid inside the chroot only.
    if std::fs::symlink_metadata(dir.join("usr/bin/swift")).is_ok() {
        return Ok(false);
    }
    if dir.exists() {
        bail!(
            "{} exists but has no Swift; remove it (nothing must be mounted in it) and run again",
            dir.display()
        );
    }
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .context("running id -u")?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        bail!("making the Swift chroot needs root (debootstrap, chroot)");
    }
    let name = dir
        .file_name()
        .context("the chroot path has no file name")?
        .to_string_lossy()
        .into_owned();
    let partial = dir.with_file_name(format!("{name}.partial"));
    if partial.exists() {
        // A run that died half-way; never delete through a mount point.
        if mounted_under(&partial)? {
            bail!(
                "{} has something mounted in it; unmount it and remove the directory",
                partial.display()
            );
        }
        std::fs::remove_dir_all(&partial)
            .with_context(|| format!("removing the half-made {}", partial.display()))?;
    }
    if let Some(parent) = partial.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    eprintln!(
        "swift: making a Debian trixie chroot with Swift in {} (once; a few minutes)",
        dir.display()
    );
    let mut debootstrap = Command::new("debootstrap");
    debootstrap
        .args(["--variant=minbase", "trixie"])
        .arg(&partial);
    if let Ok(mirror) = std::env::var(MIRROR_ENV) {
        debootstrap.arg(mirror);
    }
    run_cmd(&mut debootstrap, "debootstrap")?;
    {
        let _proc = ProcMount::mount(&partial)?;
        let apt = |args: &[&str]| -> anyhow::Result<()> {
            let mut cmd = Command::new("chroot");
            cmd.arg(&partial)
                .args([
                    "/usr/bin/env",
                    "-i",
                    PATH,
                    "HOME=/root",
                    "DEBIAN_FRONTEND=noninteractive",
                    "apt-get",
                ])
                .args(args);
            run_cmd(
                &mut cmd,
                &format!("apt-get {} in the chroot", args.join(" ")),
            )
        };
        apt(&["update", "-q"])?;
        apt(&[
            "install",
            "-y",
            "-q",
            "--no-install-recommends",
            "swiftlang",
            "libc6-dev",
            // reqwest's rustls verifier loads the system's roots; with none it will not build.
            "ca-certificates",
        ])?;
        apt(&["clean"])?;
        let mut version = Command::new("chroot");
        version
            .arg(&partial)
            .args(["/usr/bin/env", "-i", PATH, "swift", "--version"]);
        run_cmd(&mut version, "swift --version in the chroot")?;
    }
    std::fs::rename(&partial, dir)
        .with_context(|| format!("renaming {} to {}", partial.display(), dir.display()))?;
    Ok(true)
}

fn run_cmd(cmd: &mut Command, what: &str) -> anyhow::Result<()> {
    let status = cmd.status().with_context(|| format!("starting {what}"))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

/// Whether anything is mounted at or below `dir`.
fn mounted_under(dir: &Path) -> anyhow::Result<bool> {
    let mounts = std::fs::read_to_string("/proc/mounts").context("reading /proc/mounts")?;
    let dir = dir.display().to_string();
    Ok(mounts.lines().any(|line| {
        line.split_whitespace()
            .nth(1)
            .is_some_and(|m| m == dir || m.starts_with(&format!("{dir}/")))
    }))
}

/// `/proc` mounted in a chroot (Swift and apt read it) while this value lives; unmounted when
/// dropped, also on errors. A `/proc` already mounted there (a killed earlier run) is used
/// and left alone.
#[derive(Debug)]
struct ProcMount {
    point: Option<PathBuf>,
}

impl ProcMount {
    fn mount(chroot: &Path) -> anyhow::Result<ProcMount> {
        let point = chroot.join("proc");
        std::fs::create_dir_all(&point).with_context(|| format!("creating {}", point.display()))?;
        if mounted_under(&point)? {
            return Ok(ProcMount { point: None });
        }
        let mut cmd = Command::new("mount");
        cmd.args(["-t", "proc", "proc"]).arg(&point);
        run_cmd(&mut cmd, &format!("mounting /proc at {}", point.display()))?;
        Ok(ProcMount { point: Some(point) })
    }
}

impl Drop for ProcMount {
    fn drop(&mut self) {
        if let Some(point) = self.point.take() {
            let ok = Command::new("umount")
                .arg(&point)
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                // Something still runs in there; detach it so nothing is left behind.
                let _ = Command::new("umount").arg("-l").arg(&point).status();
            }
        }
    }
}

/// The package at `to`: the sources from `ios/KvitsKit` plus the generated ones. Only files
/// whose bytes changed are written, so SwiftPM rebuilds only what changed.
fn assemble(package: &Path, bindings: &Path, to: &Path) -> anyhow::Result<()> {
    let staging = to.with_file_name("KvitsKit.staging");
    if staging.exists() {
        std::fs::remove_dir_all(&staging)
            .with_context(|| format!("clearing {}", staging.display()))?;
    }
    copy_tree(package, &staging, &[".build", ".swiftpm"])?;
    copy_generated(bindings, &staging)?;
    sync_dir(&staging, to, &[])?;
    std::fs::remove_dir_all(&staging).with_context(|| format!("clearing {}", staging.display()))
}

/// The generated sources, each into its target of the package at `package`:
/// `Sources/KvitsCoreFFI/include` (the C header; the modulemap without the Darwin-only `use`
/// lines), `Sources/KvitsNative` (UniFFI's Swift), `Sources/SharedTypes` and `Sources/Serde`
/// (the core's types and their bincode runtime).
fn copy_generated(bindings: &Path, package: &Path) -> anyhow::Result<()> {
    let swift = bindings.join("swift");
    let sources = package.join("Sources");
    let include = sources.join("KvitsCoreFFI").join("include");
    sync_file(
        &swift.join("KvitsCoreFFI.h"),
        &include.join("KvitsCoreFFI.h"),
    )?;
    let modulemap = std::fs::read_to_string(swift.join("KvitsCoreFFI.modulemap"))
        .context("reading the generated modulemap")?;
    let linux: String = modulemap
        .lines()
        .filter(|l| !l.trim_start().starts_with("use "))
        .map(|l| format!("{l}\n"))
        .collect();
    write_if_changed(&include.join("module.modulemap"), linux.as_bytes())?;
    sync_file(
        &swift.join("KvitsCore.swift"),
        &sources.join("KvitsNative").join("KvitsCore.swift"),
    )?;
    let types = bindings
        .join("swift-types")
        .join("SharedTypes")
        .join("Sources");
    sync_dir(
        &types.join("SharedTypes"),
        &sources.join("SharedTypes"),
        &[],
    )?;
    sync_dir(&types.join("Serde"), &sources.join("Serde"), &[])?;
    Ok(())
}

fn copy_tree(from: &Path, to: &Path, skip: &[&str]) -> anyhow::Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        if skip.iter().any(|s| name == *s) {
            continue;
        }
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            copy_tree(&path, &to.join(&name), skip)?;
        } else {
            sync_file(&path, &to.join(&name))?;
        }
    }
    Ok(())
}

/// Makes `to` hold exactly what `from` holds (but the names in `keep`), writing only files
/// that differ.
fn sync_dir(from: &Path, to: &Path, keep: &[&str]) -> anyhow::Result<()> {
    copy_tree(from, to, &[])?;
    for entry in std::fs::read_dir(to).with_context(|| format!("reading {}", to.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        if keep.iter().any(|k| name == *k) || from.join(&name).exists() {
            continue;
        }
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        }
        .with_context(|| format!("removing {}", path.display()))?;
    }
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            sync_dir(&entry.path(), &to.join(entry.file_name()), &[])?;
        }
    }
    Ok(())
}

fn sync_file(from: &Path, to: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(from).with_context(|| format!("reading {}", from.display()))?;
    write_if_changed(to, &bytes)
}

fn write_if_changed(to: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if std::fs::read(to).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(to, bytes).with_context(|| format!("writing {}", to.display()))
}
