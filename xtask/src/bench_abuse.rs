//! `cargo xtask bench abuse`: the server under the load one hostile script can make, bounded in
//! count and time (about half a minute, all on loopback).
//!
//! The server runs in a child process (this binary, `bench abuse --serve`) with the demo firm
//! and its default limits, so its peak memory is its own. Against it, at once:
//! - [`IDLE`] connections are opened and send nothing;
//! - [`SIGN_INS`] sign-ins with wrong passwords are sent in parallel (half for real accounts,
//!   half for addresses nobody has);
//! - meanwhile `/healthz` and a valid pull of a signed-in manager are timed, one after the
//!   other, until the sign-ins are answered and a little after.
//!
//! It prints what the sign-ins were answered, the `/healthz` and pull latencies, how many idle
//! connections the server closed by itself, and its peak resident memory, with the goals next
//! to them (peak under 300 MB, `/healthz` p99 under 100 ms, no 5xx but deliberate 503s).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use kvits_protocol::{ClientId, LoginRequest, LoginResponse};
use kvits_sync_server::demo;
use tokio::net::TcpStream;

use crate::bench_sync::{Running, ms, percentile};

/// Idle connections held open.
const IDLE: usize = 1_000;
/// Sign-ins with wrong passwords, all sent at once.
const SIGN_INS: usize = 500;
/// How long the probes go on after the last sign-in was answered.
const AFTER: Duration = Duration::from_secs(2);
/// Pause between two probes of one kind.
const PROBE_GAP: Duration = Duration::from_millis(20);
/// The server's header-read timeout (its default) and a margin: by then it closed every idle
/// connection.
const IDLE_CLOSED_BY: Duration = Duration::from_secs(23);

const USAGE: &str = "usage: cargo xtask bench abuse";

pub fn run(args: &[String]) -> Result<()> {
    let serve = match args {
        [] => false,
        [flag] if flag == "--serve" => true,
        _ => bail!("{USAGE}"),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    if serve {
        runtime.block_on(serve_until_stdin_closes())
    } else {
        runtime.block_on(bench())
    }
}

/// The child: a server with the defaults; prints its URL, stops when its stdin closes.
async fn serve_until_stdin_closes() -> Result<()> {
    let server = Running::start_tuned(|_| {}).await?;
    println!("{}", server.base);
    tokio::task::spawn_blocking(|| {
        let mut rest = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut rest);
    })
    .await
    .context("waiting for the parent")?;
    server.stop().await
}

/// The server child process; killed when dropped.
struct Child {
    process: std::process::Child,
    base: String,
}

impl Child {
    fn start() -> Result<Child> {
        let exe = std::env::current_exe().context("finding this program")?;
        let mut process = Command::new(exe)
            .args(["bench", "abuse", "--serve"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .context("starting the server process")?;
        let stdout = process.stdout.take().context("the server's stdout")?;
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .context("reading the server's address")?;
        let base = line.trim().to_owned();
        ensure!(base.starts_with("http://"), "the server said {line:?}");
        Ok(Child { process, base })
    }

    /// A `/proc/PID/status` figure of the server, in MB.
    fn memory_mb(&self, field: &str) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.process.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with(field))?;
        let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb / 1024.0)
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        // Closing stdin stops it gracefully; kill in case it does not.
        drop(self.process.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.process.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// One probe's time and status (0: no answer).
type Probe = (Duration, u16);

async fn bench() -> Result<()> {
    let child = Child::start()?;
    let base = child.base.clone();
    let addr: std::net::SocketAddr = base
        .trim_start_matches("http://")
        .parse()
        .context("the server's address")?;
    println!(
        "abuse: the sync server in its own process on {addr} ({} build), demo firm, default \
         limits, {} CPU(s)",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .context("making the HTTP client")?;

    // The manager whose pulls are timed signs in before the guessing starts (the guesses slow
    // this address down, as they should).
    let client = ClientId(uuid::Uuid::now_v7());
    let login: LoginResponse = http
        .post(format!("{base}/v1/auth/login"))
        .json(&LoginRequest {
            email: "mark@demo.kvits".into(),
            password: demo::PASSWORD.into(),
            client_id: Some(client),
            device_name: Some("bench".into()),
        })
        .send()
        .await
        .context("signing Mark in")?
        .error_for_status()
        .context("signing Mark in")?
        .json()
        .await
        .context("reading Mark's sign-in")?;
    let pull_url = format!("{base}/v1/sync/pull?client_id={client}&cursor=0&limit=100");
    let first = http
        .get(&pull_url)
        .bearer_auth(&login.token)
        .send()
        .await
        .context("a first pull")?;
    ensure!(
        first.status().is_success(),
        "a first pull: {}",
        first.status()
    );
    let before = child.memory_mb("VmRSS:");

    let opened = Instant::now();
    let mut idle = Vec::with_capacity(IDLE);
    for _ in 0..IDLE {
        idle.push(
            TcpStream::connect(addr)
                .await
                .context("opening an idle connection")?,
        );
    }
    // Accepted and waiting for their request heads.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let with_idle = child.memory_mb("VmRSS:");
    println!(
        "{IDLE} idle connections opened in {:.0} ms",
        ms(opened.elapsed())
    );

    let stop = Arc::new(AtomicBool::new(false));
    let healthz = tokio::spawn(probe(
        http.get(format!("{base}/healthz")),
        Arc::clone(&stop),
    ));
    let pulls = tokio::spawn(probe(
        http.get(&pull_url).bearer_auth(&login.token),
        Arc::clone(&stop),
    ));

    let guessing = Instant::now();
    let people: Vec<&str> = demo::PEOPLE.iter().map(|p| p.email).collect();
    let attempts: Vec<_> = (0..SIGN_INS)
        .map(|i| {
            let email = if i % 2 == 0 {
                people[i / 2 % people.len()].to_owned()
            } else {
                format!("nobody{i}@example.com")
            };
            let request = http
                .post(format!("{base}/v1/auth/login"))
                .json(&LoginRequest {
                    email,
                    password: format!("wrong password {i}"),
                    client_id: None,
                    device_name: None,
                });
            tokio::spawn(async move { request.send().await.map(|r| r.status().as_u16()) })
        })
        .collect();
    let mut answers: BTreeMap<String, usize> = BTreeMap::new();
    for attempt in attempts {
        let key = match attempt.await.context("a sign-in task")? {
            Ok(status) => status.to_string(),
            Err(e) if e.is_timeout() => "timed out".into(),
            Err(_) => "no answer".into(),
        };
        *answers.entry(key).or_default() += 1;
    }
    let guessed_in = guessing.elapsed();
    let after_guesses = child.memory_mb("VmRSS:");
    tokio::time::sleep(AFTER).await;
    stop.store(true, Ordering::Relaxed);
    let healthz = healthz.await.context("the /healthz probe")?;
    let pulls = pulls.await.context("the pull probe")?;

    println!(
        "{SIGN_INS} parallel sign-ins with wrong passwords answered in {:.2} s: {}",
        guessed_in.as_secs_f64(),
        answers
            .iter()
            .map(|(status, n)| format!("{status} ×{n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    print_probes("/healthz", &healthz);
    print_probes("valid pull", &pulls);

    // The idle connections: the server closes each once its header-read time is up.
    let wait = IDLE_CLOSED_BY.saturating_sub(opened.elapsed());
    tokio::time::sleep(wait).await;
    let mut closed = 0;
    let mut byte = [0u8; 1];
    for stream in &idle {
        if let Ok(0) = stream.try_read(&mut byte) {
            closed += 1;
        }
    }
    println!(
        "idle connections the server closed itself within {} s: {closed} of {IDLE}",
        IDLE_CLOSED_BY.as_secs()
    );
    drop(idle);

    let peak = child.memory_mb("VmHWM:");
    let mb = |figure: Option<f64>| figure.map_or("?".into(), |mb| format!("{mb:.0} MB"));
    println!(
        "server memory (resident): {} before the load, {} with the idle connections, {} once \
         the sign-ins were answered; peak {}",
        mb(before),
        mb(with_idle),
        mb(after_guesses),
        mb(peak)
    );
    let unexpected: usize = answers
        .iter()
        .chain(count_statuses(&healthz).iter())
        .chain(count_statuses(&pulls).iter())
        .filter(|(status, _)| status.starts_with('5') && status.as_str() != "503")
        .map(|(_, n)| n)
        .sum();
    let p99 = percentile(&times(&healthz), 99);
    println!(
        "goals: peak under 300 MB: {}; /healthz p99 under 100 ms: {} ({:.1} ms); no 5xx but \
         deliberate 503s: {}",
        yes(peak.is_some_and(|mb| mb < 300.0)),
        yes(p99 < Duration::from_millis(100)),
        ms(p99),
        yes(unexpected == 0)
    );
    Ok(())
}

/// Sends `request` again and again, one at a time, until `stop`: each one's time and status.
async fn probe(request: reqwest::RequestBuilder, stop: Arc<AtomicBool>) -> Vec<Probe> {
    let mut probes = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let Some(request) = request.try_clone() else {
            break;
        };
        let started = Instant::now();
        let status = match request.timeout(Duration::from_secs(10)).send().await {
            Ok(r) => {
                let status = r.status().as_u16();
                let _ = r.bytes().await;
                status
            }
            Err(_) => 0,
        };
        probes.push((started.elapsed(), status));
        tokio::time::sleep(PROBE_GAP).await;
    }
    probes
}

fn times(probes: &[Probe]) -> Vec<Duration> {
    probes.iter().map(|(t, _)| *t).collect()
}

fn count_statuses(probes: &[Probe]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for (_, status) in probes {
        let key = if *status == 0 {
            "no answer".to_owned()
        } else {
            status.to_string()
        };
        *counts.entry(key).or_default() += 1;
    }
    counts
}

fn print_probes(what: &str, probes: &[Probe]) {
    let t = times(probes);
    println!(
        "{what} meanwhile: {} requests ({}), p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        probes.len(),
        count_statuses(probes)
            .iter()
            .map(|(status, n)| format!("{status} ×{n}"))
            .collect::<Vec<_>>()
            .join(", "),
        ms(percentile(&t, 50)),
        ms(percentile(&t, 99)),
        ms(percentile(&t, 100)),
    );
}

fn yes(ok: bool) -> &'static str {
    if ok { "yes" } else { "NO" }
}
