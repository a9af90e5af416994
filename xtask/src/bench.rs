//! `cargo xtask bench imaging`: what the receipt pipeline costs next to the usual command-line
//! tools, on the fixture scans, the uncropped A4 fixture pages and 12 MP phone photos derived
//! from the first few scans.
//!
//! For every input file and tool it prints CPU time, peak memory and output size; then, per input
//! set, the medians, the Kvits-to-peer ratios (CPU time, peak memory and output size of the
//! in-process gray pipeline; CPU time and peak RSS of the `kvits process` command, measured as
//! a child process like the peers) and the SSIMULACRA2 score of the Kvits gray output against a
//! Lanczos3 downscale of the same size.
//!
//! How the figures are taken:
//! - *kvits gray* and *kvits colour* run in this process. CPU is this thread's CPU time
//!   (`CLOCK_THREAD_CPUTIME_ID`), the median of [`KVITS_RUNS`] runs; memory is the heap peak
//!   above what was allocated before the run (the input bytes, the bench's own data), read from
//!   the counting global allocator installed in `main.rs`.
//! - Everything else is a child process, run [`PEER_RUNS`] times: CPU is user + system time and
//!   memory the peak resident set size, both from `wait4` in a small helper process (see
//!   [`run_child`] for why; the helper puts a floor of about 3 MiB under the RSS figures),
//!   medians over the runs. *kvits process* is this binary's `compress` command, whose memory
//!   figure is comparable with the peers'.
//! - The peers are given the output size Kvits chose for the file (ImageMagick and vips also turn
//!   the image upright), quality 70 and no metadata.
//!   `djpeg | cjpeg` runs under `sh -c` and scales by exactly 1/2 (the size Kvits picks for a
//!   12 MP photo, not for the smaller scans); its CPU is the sum over the pipeline, its memory the
//!   largest single process in it (what `wait4` reports for a process and its waited-for
//!   children). `vipsthumbnail` cannot write gray JPEGs, so its output is colour.
//!
//! A peer that is not installed is reported as such, with the Debian package that has it:
//! `./dev bench imaging` runs `scripts/setup.sh` first, which installs `imagemagick`,
//! `libvips-tools` and `libjpeg-turbo-progs` when they are missing.
//!
//! Unix only (`wait4`, `clock_gettime`).

use anyhow::{Context, Result, anyhow, bail};
use kvits_imaging::{Channels, ColorMode, Options};
use kvits_testkit::PhoneShot;
use kvits_testkit::quality::{lanczos3, median, ssimulacra2_gray};
use std::ffi::OsString;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Instant;

/// Runs of the in-process pipeline per file and mode; the CPU figure is their median.
const KVITS_RUNS: usize = 5;
/// Runs of each child process per file; the figures are their medians.
const PEER_RUNS: usize = 3;
/// EXIF orientations of the derived phone photos, one per photo (from the first scans in order).
const PHOTO_ORIENTATIONS: [u16; 6] = [6, 1, 8, 3, 6, 8];

const MIB: f64 = 1024.0 * 1024.0;
const KIB: f64 = 1024.0;

/// Internal: `bench MEASURE_CHILD PROGRAM ARGS...` runs PROGRAM and prints its resource usage.
const MEASURE_CHILD: &str = "--measure-child";

pub fn run(args: &[String]) -> Result<()> {
    match args {
        [what] if what == "imaging" => imaging(),
        [what, rest @ ..] if what == "sync" => crate::bench_sync::run(rest),
        [what, rest @ ..] if what == "core" => crate::bench_core::run(rest),
        [what, rest @ ..] if what == "desk" => crate::bench_desk::run(rest),
        [what, rest @ ..] if what == "export" => crate::bench_export::run(rest),
        [what, rest @ ..] if what == "statements" => crate::bench_statements::run(rest),
        [what, rest @ ..] if what == "abuse" => crate::bench_abuse::run(rest),
        [flag, program, rest @ ..] if flag == MEASURE_CHILD => measure_child(program, rest),
        _ => bail!("usage: cargo xtask bench imaging|sync|core|desk|export|statements|abuse"),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tool {
    KvitsGray,
    KvitsColor,
    KvitsProcess,
    ImageMagick,
    Vips,
    DjpegCjpeg,
}

const TOOLS: [Tool; 6] = [
    Tool::KvitsGray,
    Tool::KvitsColor,
    Tool::KvitsProcess,
    Tool::ImageMagick,
    Tool::Vips,
    Tool::DjpegCjpeg,
];

impl Tool {
    fn label(self) -> &'static str {
        match self {
            Tool::KvitsGray => "kvits gray",
            Tool::KvitsColor => "kvits colour",
            Tool::KvitsProcess => "kvits process (gray)",
            Tool::ImageMagick => "imagemagick",
            Tool::Vips => "vipsthumbnail (colour)",
            Tool::DjpegCjpeg => "djpeg|cjpeg 1/2",
        }
    }

    fn is_peer(self) -> bool {
        matches!(self, Tool::ImageMagick | Tool::Vips | Tool::DjpegCjpeg)
    }

    /// The Debian package a peer tool comes from (`scripts/setup.sh` installs each).
    fn debian_package(self) -> Option<&'static str> {
        match self {
            Tool::ImageMagick => Some("imagemagick"),
            Tool::Vips => Some("libvips-tools"),
            Tool::DjpegCjpeg => Some("libjpeg-turbo-progs"),
            Tool::KvitsGray | Tool::KvitsColor | Tool::KvitsProcess => None,
        }
    }

    /// What to say when the tool is missing: how to get it.
    fn not_installed(self) -> String {
        match self.debian_package() {
            Some(package) => format!(
                "not installed (Debian package {package}; `./dev bench imaging` installs it \
                 via scripts/setup.sh)"
            ),
            None => "missing".into(),
        }
    }
}

/// The external programs the bench runs, found once on `PATH`.
#[derive(Debug)]
struct Programs {
    kvits: PathBuf,
    magick: Option<PathBuf>,
    vipsthumbnail: Option<PathBuf>,
    djpeg_cjpeg: Option<(PathBuf, PathBuf)>,
}

impl Programs {
    fn find() -> Result<Programs> {
        let djpeg_cjpeg = match (find_program("djpeg"), find_program("cjpeg")) {
            (Some(d), Some(c)) => Some((d, c)),
            _ => None,
        };
        Ok(Programs {
            kvits: std::env::current_exe().context("locating the xtask binary")?,
            magick: find_program("magick").or_else(|| find_program("convert")),
            vipsthumbnail: find_program("vipsthumbnail"),
            djpeg_cjpeg,
        })
    }

    fn describe(&self) -> String {
        let show = |p: &Option<PathBuf>, tool: Tool| match p {
            Some(p) => p.display().to_string(),
            None => tool.not_installed(),
        };
        let djpeg = match &self.djpeg_cjpeg {
            Some((d, c)) => format!("{} | {}", d.display(), c.display()),
            None => Tool::DjpegCjpeg.not_installed(),
        };
        format!(
            "kvits: {}\nimagemagick: {}\nvipsthumbnail: {}\ndjpeg|cjpeg: {djpeg}",
            self.kvits.display(),
            show(&self.magick, Tool::ImageMagick),
            show(&self.vipsthumbnail, Tool::Vips),
        )
    }
}

/// The first executable called `name` on `PATH`, preferring a native binary over a script of the
/// same name earlier on `PATH` (a wrapper's interpreter would be counted in the figures).
fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    let mut script = None;
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join(name);
        let executable = std::fs::metadata(&candidate)
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false);
        if !executable {
            continue;
        }
        if is_script(&candidate) {
            script.get_or_insert(candidate);
        } else {
            return Some(candidate);
        }
    }
    script
}

fn is_script(path: &Path) -> bool {
    let mut start = [0u8; 2];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut start))
        .map(|()| &start == b"#!")
        .unwrap_or(false)
}

/// One input file.
#[derive(Debug)]
struct Input {
    name: String,
    path: PathBuf,
    bytes: Vec<u8>,
}

/// What one tool did with one file.
#[derive(Debug, Clone, Copy)]
struct Figure {
    cpu_ms: f64,
    peak_mib: f64,
    out_kib: f64,
    /// Output size in pixels, when its header could be read.
    dims: Option<(u32, u32)>,
}

#[derive(Debug, Clone)]
enum Outcome {
    Done(Figure),
    NotInstalled,
    Failed(String),
}

impl Outcome {
    fn figure(&self) -> Option<&Figure> {
        match self {
            Outcome::Done(f) => Some(f),
            _ => None,
        }
    }
}

/// Every tool's outcome on one file, in [`TOOLS`] order, and the Kvits gray JPEG for scoring.
#[derive(Debug)]
struct FileResult {
    name: String,
    outcomes: Vec<Outcome>,
    kvits_gray_jpeg: Vec<u8>,
    ssimulacra2: Option<f64>,
}

#[derive(Debug)]
struct Set {
    title: String,
    inputs: Vec<Input>,
    results: Vec<FileResult>,
}

fn imaging() -> Result<()> {
    let started = Instant::now();
    let programs = Programs::find()?;
    println!("kvits imaging bench");
    println!("{}", programs.describe());
    println!(
        "cpu ms: thread CPU time, median of {KVITS_RUNS} (kvits gray/colour, in-process); \
         user+sys of the process tree, median of {PEER_RUNS} (the rest)"
    );
    println!(
        "peak MiB: heap peak above the input (kvits gray/colour); max RSS (the rest). \
         out KiB: main output JPEG"
    );

    let tmp = tempfile::tempdir().context("creating a temp dir")?;
    let out_dir = tmp.path().join("out");
    std::fs::create_dir(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;

    let scans = load_fixtures("scans")?;
    if scans.len() < PHOTO_ORIENTATIONS.len() {
        bail!(
            "expected at least {} fixture scans, found {}",
            PHOTO_ORIENTATIONS.len(),
            scans.len()
        );
    }
    let pages = load_fixtures("uncropped")?;
    let photo_dir = tmp.path().join("photos");
    std::fs::create_dir(&photo_dir).with_context(|| format!("creating {}", photo_dir.display()))?;
    eprintln!(
        "generating {} phone photos from the first scans ...",
        PHOTO_ORIENTATIONS.len()
    );
    let photos = phone_photos(&scans, &photo_dir)?;
    eprintln!("[{:.0} s] photos made", started.elapsed().as_secs_f64());

    let mut sets = vec![
        Set {
            title: format!("fixture scans ({} files)", scans.len()),
            inputs: scans,
            results: Vec::new(),
        },
        Set {
            title: format!("uncropped A4 pages ({} files)", pages.len()),
            inputs: pages,
            results: Vec::new(),
        },
        Set {
            title: format!("12 MP phone photos ({} files)", photos.len()),
            inputs: photos,
            results: Vec::new(),
        },
    ];

    for set in &mut sets {
        println!();
        println!("== {} ==", set.title);
        print_header();
        for input in &set.inputs {
            let result = bench_file(input, &programs, &out_dir)?;
            for (tool, outcome) in TOOLS.iter().zip(&result.outcomes) {
                print_row(&result.name, *tool, outcome);
            }
            set.results.push(result);
        }
        eprintln!(
            "[{:.0} s] {} measured",
            started.elapsed().as_secs_f64(),
            set.title
        );
    }

    // Scored after all timing: the metric runs on a thread pool that would compete with the
    // measured processes for this machine's cores.
    for set in &mut sets {
        println!();
        println!(
            "== SSIMULACRA2, kvits gray vs Lanczos3 of the same size: {} ==",
            set.title
        );
        for (input, result) in set.inputs.iter().zip(&mut set.results) {
            match ssimulacra2_vs_lanczos3(&input.bytes, &result.kvits_gray_jpeg) {
                Ok(score) => {
                    println!("{:<36} {score:>7.2}", result.name);
                    result.ssimulacra2 = Some(score);
                }
                Err(e) => println!("{:<36} failed: {e:#}", result.name),
            }
        }
    }

    println!();
    println!("===== summary =====");
    for set in &sets {
        print_summary(set);
    }
    eprintln!("bench took {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// The fixtures in `tests/fixtures/receipts/FOLDER` (`scans` or `uncropped`).
fn load_fixtures(folder: &str) -> Result<Vec<Input>> {
    let receipts = kvits_testkit::receipts(folder);
    if receipts.is_empty() {
        bail!("no fixtures in {folder}");
    }
    receipts
        .iter()
        .map(|r| {
            let bytes =
                std::fs::read(&r.path).with_context(|| format!("reading {}", r.path.display()))?;
            Ok(Input {
                name: r.name(),
                path: r.path.clone(),
                bytes,
            })
        })
        .collect()
}

/// 12 MP phone photos of the first scans, one per entry of [`PHOTO_ORIENTATIONS`], written to
/// `dir` so that the other tools can read them. Made on two threads; deterministic.
fn phone_photos(scans: &[Input], dir: &Path) -> Result<Vec<Input>> {
    let jobs: Vec<(&Input, PhoneShot)> = scans
        .iter()
        .zip(PHOTO_ORIENTATIONS)
        .enumerate()
        .map(|(i, (scan, orientation))| {
            let shot = PhoneShot {
                orientation,
                seed: 0x4b56_4954_5300 + i as u64,
                taken: format!("2024:05:{:02} 12:{:02}:00", i + 1, 10 + i),
            };
            (scan, shot)
        })
        .collect();
    let half = jobs.len().div_ceil(2);
    let encoded: Vec<Vec<u8>> = std::thread::scope(|s| {
        let workers: Vec<_> = jobs
            .chunks(half)
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|(scan, shot)| kvits_testkit::phone_photo(&scan.bytes, shot))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all = Vec::new();
        for worker in workers {
            all.extend(
                worker
                    .join()
                    .map_err(|_| anyhow!("generating a phone photo panicked"))?,
            );
        }
        Ok::<_, anyhow::Error>(all)
    })?;
    jobs.iter()
        .zip(encoded)
        .enumerate()
        .map(|(i, ((scan, shot), bytes))| {
            let name = format!("photo{}-o{}-{}", i + 1, shot.orientation, scan.name);
            let path = dir.join(format!("{name}.jpg"));
            std::fs::write(&path, &bytes).with_context(|| format!("writing {}", path.display()))?;
            Ok(Input { name, path, bytes })
        })
        .collect()
}

fn bench_file(input: &Input, programs: &Programs, out_dir: &Path) -> Result<FileResult> {
    let gray = Options::default();
    let colour = Options {
        color: ColorMode::Color,
        ..Options::default()
    };
    let (gray_figure, gray_jpeg) = measure_in_process(input, &gray)?;
    let (colour_figure, _) = measure_in_process(input, &colour)?;
    let (w, h) = gray_figure
        .dims
        .context("the Kvits gray output has no readable size")?;
    let quality = gray.quality().to_string();
    let size = format!("{w}x{h}!");

    let out = out_dir.join("kvits.jpg");
    let kvits = measure_command(&programs.kvits, &out, || {
        let mut c = Command::new(&programs.kvits);
        c.arg("compress").arg(&input.path).arg(&out);
        c
    });

    let out = out_dir.join("imagemagick.jpg");
    let magick = match &programs.magick {
        Some(magick) => measure_command(&programs.kvits, &out, || {
            let mut c = Command::new(magick);
            c.arg(&input.path)
                .arg("-auto-orient")
                .args(["-resize", &size])
                .args(["-colorspace", "Gray"])
                .args(["-quality", &quality])
                .arg("-strip")
                .arg(&out);
            c
        }),
        None => Outcome::NotInstalled,
    };

    let out = out_dir.join("vips.jpg");
    let vips = match &programs.vipsthumbnail {
        Some(vips) => {
            let mut target = OsString::from(out.as_os_str());
            target.push(format!("[Q={quality},strip]"));
            measure_command(&programs.kvits, &out, || {
                let mut c = Command::new(vips);
                c.arg(&input.path)
                    .args(["-s", &size])
                    .arg("-o")
                    .arg(&target);
                c
            })
        }
        None => Outcome::NotInstalled,
    };

    let out = out_dir.join("djpeg-cjpeg.jpg");
    let pipeline = format!(r#""$1" -scale 1/2 -grayscale "$3" | "$2" -quality {quality} > "$4""#);
    let djpeg = match &programs.djpeg_cjpeg {
        Some((djpeg, cjpeg)) => measure_command(&programs.kvits, &out, || {
            let mut c = Command::new("sh");
            c.arg("-c")
                .arg(&pipeline)
                .arg("sh")
                .args([djpeg.as_os_str(), cjpeg.as_os_str()])
                .arg(&input.path)
                .arg(&out);
            c
        }),
        None => Outcome::NotInstalled,
    };

    Ok(FileResult {
        name: input.name.clone(),
        outcomes: vec![
            Outcome::Done(gray_figure),
            Outcome::Done(colour_figure),
            kvits,
            magick,
            vips,
            djpeg,
        ],
        kvits_gray_jpeg: gray_jpeg,
        ssimulacra2: None,
    })
}

/// Runs the pipeline [`KVITS_RUNS`] times in this thread; returns the figures and the last output.
fn measure_in_process(input: &Input, options: &Options) -> Result<(Figure, Vec<u8>)> {
    let mut cpu = Vec::with_capacity(KVITS_RUNS);
    let mut peak = 0usize;
    let mut last = None;
    for _ in 0..KVITS_RUNS {
        drop(last.take());
        let baseline = crate::ALLOC.current();
        crate::ALLOC.reset_peak();
        let start = thread_cpu_ms()?;
        let processed = kvits_imaging::process(&input.bytes, options);
        let end = thread_cpu_ms()?;
        peak = peak.max(crate::ALLOC.peak().saturating_sub(baseline));
        let processed = processed.with_context(|| format!("Kvits on {}", input.name))?;
        cpu.push(end - start);
        last = Some(processed);
    }
    // At least one run happened, so `cpu` is not empty.
    let processed = last.context("no runs")?;
    let figure = Figure {
        cpu_ms: median(&cpu),
        peak_mib: peak as f64 / MIB,
        out_kib: processed.image.jpeg.len() as f64 / KIB,
        dims: Some((processed.image.width, processed.image.height)),
    };
    Ok((figure, processed.image.jpeg))
}

/// Runs a command [`PEER_RUNS`] times and reads the JPEG it leaves at `out`.
fn measure_command(helper: &Path, out: &Path, command: impl Fn() -> Command) -> Outcome {
    let mut cpu = Vec::with_capacity(PEER_RUNS);
    let mut rss = Vec::with_capacity(PEER_RUNS);
    for _ in 0..PEER_RUNS {
        // A stale file from an earlier run must not hide a failure.
        let _ = std::fs::remove_file(out);
        match run_child(helper, &command()) {
            Ok(usage) => {
                cpu.push(usage.cpu_ms);
                rss.push(usage.max_rss_bytes as f64 / MIB);
            }
            Err(e) => return Outcome::Failed(format!("{e:#}")),
        }
    }
    let bytes = match std::fs::read(out) {
        Ok(b) if !b.is_empty() => b,
        Ok(_) => return Outcome::Failed("the output is empty".into()),
        Err(e) => return Outcome::Failed(format!("reading {}: {e}", out.display())),
    };
    let dims = kvits_imaging::probe(&bytes)
        .ok()
        .map(|info| info.upright_dimensions());
    if cpu.is_empty() || rss.is_empty() {
        return Outcome::Failed("no runs".into());
    }
    Outcome::Done(Figure {
        cpu_ms: median(&cpu),
        peak_mib: median(&rss),
        out_kib: bytes.len() as f64 / KIB,
        dims,
    })
}

/// Resources a finished child used, itself and the children it waited for.
#[derive(Debug)]
struct Usage {
    status: ExitStatus,
    cpu_ms: f64,
    max_rss_bytes: u64,
}

/// Runs `command` under a [`MEASURE_CHILD`] helper (a fresh copy of this binary) and returns
/// what the command used.
///
/// Measuring from here would be wrong: Linux carries the spawning address space's high-water RSS
/// over `exec` into the child's `ru_maxrss` (and `posix_spawn` runs on the parent's address
/// space), so every child would report at least this process's own peak, which holds 12 MP
/// images. The small helper keeps that floor at a few MiB.
fn run_child(helper: &Path, command: &Command) -> Result<Usage> {
    let program = Path::new(command.get_program())
        .file_name()
        .unwrap_or(command.get_program())
        .to_string_lossy()
        .into_owned();
    let output = Command::new(helper)
        .arg("bench")
        .arg(MEASURE_CHILD)
        .arg(command.get_program())
        .args(command.get_args())
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("starting the helper for {program}"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        bail!("measuring {program}: {}", stderr.trim());
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let fields: Vec<&str> = stdout.split_whitespace().collect();
    let [status, cpu_ms, max_rss_bytes] = fields.as_slice() else {
        bail!("unexpected helper output {stdout:?}");
    };
    let usage = Usage {
        status: ExitStatus::from_raw(status.parse().context("helper status")?),
        cpu_ms: cpu_ms.parse().context("helper CPU time")?,
        max_rss_bytes: max_rss_bytes.parse().context("helper RSS")?,
    };
    if !usage.status.success() {
        bail!("{program} {}: {}", usage.status, stderr.trim());
    }
    Ok(usage)
}

/// The helper side of [`run_child`]: runs the program (stderr passed through, stdout discarded),
/// reaps it with `wait4` and prints `STATUS CPU_MS MAX_RSS_BYTES`.
fn measure_child(program: &str, args: &[String]) -> Result<()> {
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {program}"))?;
    // Reaped here rather than by `Child::wait`, to get its resource usage.
    let usage = wait4(child.id())?;
    println!(
        "{} {} {}",
        usage.status.into_raw(),
        usage.cpu_ms,
        usage.max_rss_bytes
    );
    Ok(())
}

#[allow(unsafe_code)]
fn wait4(pid: u32) -> Result<Usage> {
    let pid = libc::pid_t::try_from(pid).context("child pid out of range")?;
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is a plain C struct of integers, for which all-zero bytes are valid.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is a child of this process that nothing else waits for; `status` and
        // `usage` are valid, writable and outlive the call.
        let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if reaped == pid {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e).context("waiting for a child process");
        }
    }
    let ms = |t: libc::timeval| t.tv_sec as f64 * 1e3 + t.tv_usec as f64 / 1e3;
    let max_rss = u64::try_from(usage.ru_maxrss).unwrap_or(0);
    Ok(Usage {
        status: ExitStatus::from_raw(status),
        cpu_ms: ms(usage.ru_utime) + ms(usage.ru_stime),
        // Linux reports KiB, macOS bytes.
        max_rss_bytes: if cfg!(target_os = "macos") {
            max_rss
        } else {
            max_rss * 1024
        },
    })
}

/// CPU time this thread has used, in milliseconds.
#[allow(unsafe_code)]
fn thread_cpu_ms() -> Result<f64> {
    // SAFETY: `timespec` is a plain C struct of integers, for which all-zero bytes are valid.
    let mut t: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: `t` is a valid, writable timespec that outlives the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error()).context("reading the thread CPU clock");
    }
    Ok(t.tv_sec as f64 * 1e3 + t.tv_nsec as f64 / 1e6)
}

/// SSIMULACRA2 of the Kvits gray output against the full-resolution upright input in gray,
/// downscaled to the same size with Lanczos3.
fn ssimulacra2_vs_lanczos3(input: &[u8], kvits_jpeg: &[u8]) -> Result<f64> {
    let output = kvits_imaging::decode_upright(kvits_jpeg, Channels::Gray)
        .context("decoding the Kvits output")?;
    let full =
        kvits_imaging::decode_upright(input, Channels::Gray).context("decoding the input")?;
    // The testkit helpers panic on these; report them as a failed score instead.
    if full.data.len() != full.width as usize * full.height as usize
        || output.data.len() != output.width as usize * output.height as usize
    {
        bail!("a decoded image has the wrong length");
    }
    if output.width < 8 || output.height < 8 {
        bail!(
            "SSIMULACRA2 needs at least 8x8 pixels, the output is {}x{}",
            output.width,
            output.height
        );
    }
    let reference = lanczos3(
        full.width,
        full.height,
        &full.data,
        output.width,
        output.height,
    );
    Ok(ssimulacra2_gray(
        output.width,
        output.height,
        &reference,
        &output.data,
    ))
}

/// Where `tool` sits in [`TOOLS`], which is also the order of each file's outcomes.
fn tool_index(tool: Tool) -> usize {
    TOOLS.iter().position(|t| *t == tool).unwrap_or(0)
}

fn print_header() {
    println!(
        "{:<36} {:<22} {:>9} {:>9} {:>9}  out size",
        "file", "tool", "cpu ms", "peak MiB", "out KiB"
    );
}

fn print_row(file: &str, tool: Tool, outcome: &Outcome) {
    match outcome {
        Outcome::Done(f) => {
            let dims = f
                .dims
                .map(|(w, h)| format!("{w}x{h}"))
                .unwrap_or_else(|| "?".into());
            println!(
                "{file:<36} {:<22} {:>9.1} {:>9.1} {:>9.1}  {dims}",
                tool.label(),
                f.cpu_ms,
                f.peak_mib,
                f.out_kib
            );
        }
        Outcome::NotInstalled => {
            println!("{file:<36} {:<22} {}", tool.label(), tool.not_installed());
        }
        Outcome::Failed(e) => {
            let first_line = e.lines().next().unwrap_or("");
            println!("{file:<36} {:<22} failed: {first_line}", tool.label());
        }
    }
}

fn print_summary(set: &Set) {
    println!();
    println!("-- {}: medians over files --", set.title);
    println!(
        "{:<22} {:>9} {:>9} {:>9}   {:>13} {:>13} {:>13}   {:>13} {:>13}",
        "tool",
        "cpu ms",
        "peak MiB",
        "out KiB",
        "gray/peer ms",
        "gray/peer MiB",
        "gray/peer KiB",
        "proc/peer ms",
        "proc/peer MiB"
    );
    let column = |i: usize, value: fn(&Figure) -> f64| -> Vec<f64> {
        set.results
            .iter()
            .filter_map(|r| r.outcomes[i].figure().map(value))
            .collect()
    };
    let kvits_gray = tool_index(Tool::KvitsGray);
    let kvits_process = tool_index(Tool::KvitsProcess);
    for (i, tool) in TOOLS.iter().enumerate() {
        let cpu = column(i, |f| f.cpu_ms);
        if cpu.is_empty() {
            let why = if set
                .results
                .iter()
                .all(|r| matches!(r.outcomes[i], Outcome::NotInstalled))
            {
                tool.not_installed()
            } else {
                "failed".to_string()
            };
            println!("{:<22} {why}", tool.label());
            continue;
        }
        // The peak and size columns come from the same figures as `cpu`, so are not empty either.
        let cpu = median(&cpu);
        let peak = median(&column(i, |f| f.peak_mib));
        let kib = median(&column(i, |f| f.out_kib));
        let mut line = format!("{:<22} {cpu:>9.1} {peak:>9.1} {kib:>9.1}", tool.label());
        if tool.is_peer() {
            // The median over files of Kvits' figure divided by the peer's, Kvits' taken from
            // the tool at `base`.
            let ratio = |base: usize, value: fn(&Figure) -> f64| {
                let ratios: Vec<f64> = set
                    .results
                    .iter()
                    .filter_map(|r| {
                        let ours = r.outcomes[base].figure()?;
                        let peer = r.outcomes[i].figure()?;
                        Some(value(ours) / value(peer))
                    })
                    .collect();
                if ratios.is_empty() {
                    "-".to_string()
                } else {
                    format!("{:.2}x", median(&ratios))
                }
            };
            line.push_str(&format!(
                "   {:>13} {:>13} {:>13}   {:>13} {:>13}",
                ratio(kvits_gray, |f| f.cpu_ms),
                ratio(kvits_gray, |f| f.peak_mib),
                ratio(kvits_gray, |f| f.out_kib),
                ratio(kvits_process, |f| f.cpu_ms),
                ratio(kvits_process, |f| f.peak_mib),
            ));
        }
        let failures = set
            .results
            .iter()
            .filter(|r| matches!(r.outcomes[i], Outcome::Failed(_)))
            .count();
        if failures > 0 {
            line.push_str(&format!("   ({failures} failed)"));
        }
        println!("{line}");
    }
    let scores: Vec<f64> = set.results.iter().filter_map(|r| r.ssimulacra2).collect();
    let (low, high) = scores
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &s| {
            (lo.min(s), hi.max(s))
        });
    if scores.is_empty() {
        println!("SSIMULACRA2 kvits gray vs Lanczos3: no scores");
    } else {
        println!(
            "SSIMULACRA2 kvits gray vs Lanczos3: median {:.2} (min {low:.2}, max {high:.2}, {} files)",
            median(&scores),
            scores.len()
        );
    }
    println!(
        "(ratios: median over files of kvits / peer. gray/peer: the pipeline's own thread CPU and \
         heap peak in this process, against the peer's whole process; proc/peer: the `compress` \
         command as a process, CPU and peak RSS measured like the peer's)"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_peer_says_how_to_get_it_and_setup_installs_it() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/setup.sh");
        let setup = std::fs::read_to_string(path).expect("reads scripts/setup.sh");
        let peers: Vec<Tool> = TOOLS.into_iter().filter(|t| t.is_peer()).collect();
        assert_eq!(peers.len(), 3);
        for tool in peers {
            let package = tool.debian_package().expect("a peer has a package");
            let message = tool.not_installed();
            assert!(message.contains(package), "{message}");
            assert!(message.contains("./dev bench imaging"), "{message}");
            assert!(message.contains("scripts/setup.sh"), "{message}");
            assert!(
                setup.contains(&format!("need_apt+=({package})")),
                "{path} does not install {package}"
            );
        }
    }
}
