//! The resumable upload's conformance cases, run against the real sync server through every
//! driver of the one upload protocol (`kvits-upload`): the native runtime (`kvits-native`, with
//! reqwest) and the web shell (`web-shell/src/core/upload.ts`, the wasm machine with `fetch`).
//!
//! A [`Harness`] owns a sync server with the demo firm in a temp dir, behind a
//! [`FaultProxy`]. A driver plays each [`Case`] the same way, whatever language it is in:
//!
//! 1. [`Harness::begin`] gives the [`Plan`]: the server's URL (the proxy), Emma's token, and a
//!    photo of the case's own (a JPEG no other case uploads, so the server never holds it yet);
//! 2. for each run: [`Harness::arm`] sets the run's faults up, the driver uploads the photo
//!    (stopping after `max_chunks` `PATCH`es where the run says so) and hands what happened to
//!    [`Harness::finish_run`], which checks it against the case (outcome, error kind, progress,
//!    where the run resumed, that every fault struck) and then does what comes between runs
//!    (restart the server, let the upload expire);
//! 3. [`Harness::end`] checks that the server holds the photo byte for byte and nothing is left
//!    half-uploaded.
//!
//! The native driver calls the harness in-process (`tests/native.rs`); the web shell's driver
//! reaches it over HTTP through `kvits-upload-conformance` (`src/main.rs`), which the web test
//! step of `./dev test` starts.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use kvits_protocol::{
    LoginRequest, LoginResponse, PROTOCOL_HEADER, PROTOCOL_VERSION, UPLOAD_LENGTH, UPLOAD_SHA256,
    UploadStatus,
};
use kvits_sync_server::{Config, Server};
use kvits_testkit::photo::{Rgb, encode};
use kvits_testkit::proxy::{FaultProxy, Match};
use kvits_testkit::rng::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Bytes per `PATCH` in every case: small, so a photo takes several.
pub const CHUNK: u64 = 16 * 1024;

/// Who uploads: an employee of the demo firm's Birch Bakery.
pub const UPLOADER: &str = "emma@demo.kvits";

/// What the network or the server does to one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// No connection at all for the whole run.
    Offline,
    /// The next `PATCH` reaches the server with only its first `after` body bytes; then both
    /// connections close.
    CutBody { after: usize },
    /// One byte of the next `PATCH`'s body is flipped on the way.
    Damage,
    /// The next `PATCH` reaches the server twice (a retry whose first attempt had landed);
    /// the driver hears the second answer.
    Duplicate,
    /// The server answers the next `PATCH` but the answer is lost.
    DropResponse,
}

/// What the harness does after a run, before the next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Between {
    /// The server stops and starts again on the same data and port.
    RestartServer,
    /// Every partial upload on the server expires and is swept away.
    ExpireUploads,
}

/// What a run must end with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Stored; when `resumes_at` is set, the first progress report says that offset (where the
    /// driver continued from).
    Done { resumes_at: Option<Resume> },
    /// Failed with this `UploadErrorKind` and a message containing `says`.
    Failed {
        kind: &'static str,
        says: &'static str,
    },
}

/// Where a run starts, as the first progress report says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resume {
    /// At this byte.
    At(u64),
    /// At the end: nothing is left to send.
    End,
}

/// One attempt of the driver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Run {
    pub faults: Vec<Fault>,
    /// The driver stops after this many `PATCH`es.
    pub max_chunks: Option<u64>,
    pub expect: Expect,
    /// The server must have answered some request of the run with this status (a 409, a 460).
    pub saw_status: Option<u16>,
    pub then: Option<Between>,
}

impl Run {
    fn new(expect: Expect) -> Run {
        Run {
            faults: Vec::new(),
            max_chunks: None,
            expect,
            saw_status: None,
            then: None,
        }
    }

    /// A run that ends with the photo stored.
    pub fn done() -> Run {
        Run::new(Expect::Done { resumes_at: None })
    }

    /// A run that ends with the photo stored, having started at `offset`.
    pub fn done_from(offset: u64) -> Run {
        Run::new(Expect::Done {
            resumes_at: Some(Resume::At(offset)),
        })
    }

    /// A run that fails `Transient`, saying `says`.
    pub fn transient(says: &'static str) -> Run {
        Run::new(Expect::Failed {
            kind: "Transient",
            says,
        })
    }

    /// A run the driver stops after `n` chunks.
    pub fn stopped_after(n: u64) -> Run {
        Run {
            max_chunks: Some(n),
            ..Run::transient("stopped after")
        }
    }

    fn with(mut self, fault: Fault) -> Run {
        self.faults.push(fault);
        self
    }

    fn saw(mut self, status: u16) -> Run {
        self.saw_status = Some(status);
        self
    }

    fn then(mut self, between: Between) -> Run {
        self.then = Some(between);
        self
    }
}

/// One conformance case: a fresh photo and the runs that must bring it to the server (or end
/// with the failure the last run expects).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Case {
    pub name: String,
    pub about: &'static str,
    pub runs: Vec<Run>,
    /// What the driver is handed differs from a good request.
    pub twist: Option<Twist>,
}

/// A request the server must refuse, one way or another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Twist {
    /// A token the server never issued.
    UnknownToken,
    /// The "photo" is a text file.
    NotAnImage,
    /// The server address points somewhere without an upload endpoint (a wrong path, a
    /// captive portal).
    NoUploadEndpoint,
}

fn case(name: impl Into<String>, about: &'static str, runs: Vec<Run>) -> Case {
    Case {
        name: name.into(),
        about,
        runs,
        twist: None,
    }
}

fn twisted(name: &str, about: &'static str, twist: Twist, fails: Run) -> Case {
    Case {
        twist: Some(twist),
        ..case(name, about, vec![fails])
    }
}

impl Case {
    /// Whether the photo ends on the server.
    pub fn stores(&self) -> bool {
        self.runs
            .last()
            .is_some_and(|r| matches!(r.expect, Expect::Done { .. }))
    }
}

/// Every case, in the order drivers play them.
pub fn cases() -> Vec<Case> {
    let mut all = vec![
        case(
            "fresh",
            "a photo goes up from byte 0",
            vec![Run::done_from(0)],
        ),
        case(
            "already-stored",
            "the same photo again is done at once, nothing sent",
            vec![
                Run::done(),
                Run::new(Expect::Done {
                    resumes_at: Some(Resume::End),
                }),
            ],
        ),
        case(
            "offline",
            "no network: a transient failure, then the whole photo",
            vec![Run::transient("").with(Fault::Offline), Run::done_from(0)],
        ),
    ];
    for n in [1, 3] {
        all.push(case(
            format!("stopped-after-{n}"),
            "cut between chunks: the next run resumes at the server's offset",
            vec![Run::stopped_after(n), Run::done_from(n * CHUNK)],
        ));
    }
    // A cut inside a chunk's body, at several offsets of the second chunk: however much of it
    // the server saw, the next run ends with exactly the photo.
    for after in [0, 1, 7919, CHUNK as usize - 1] {
        all.push(case(
            format!("cut-mid-body-{after}"),
            "the connection dies inside a chunk: the next run still stores exactly the photo",
            vec![
                Run::stopped_after(1),
                Run::transient("").with(Fault::CutBody { after }),
                Run::done(),
            ],
        ));
    }
    all.extend([
        case(
            "answer-lost",
            "a chunk landed but its answer was lost: the next run continues after it",
            vec![
                Run::transient("").with(Fault::DropResponse),
                Run::done_from(CHUNK),
            ],
        ),
        case(
            "conflict-409",
            "a retried chunk had landed already: 409 moves the driver to the server's offset",
            vec![Run::done_from(0).with(Fault::Duplicate).saw(409)],
        ),
        case(
            "damaged-once",
            "a chunk damaged on the way (460) is sent again",
            vec![Run::done_from(0).with(Fault::Damage).saw(460)],
        ),
        case(
            "damaged-thrice",
            "a chunk damaged three times in a row: give up for now, then succeed",
            vec![
                Run::transient("damaged 3 times")
                    .with(Fault::Damage)
                    .with(Fault::Damage)
                    .with(Fault::Damage)
                    .saw(460),
                Run::done_from(0),
            ],
        ),
        case(
            "server-restart",
            "the server restarts mid-upload: the partial upload survives and is resumed",
            vec![
                Run::stopped_after(2).then(Between::RestartServer),
                Run::done_from(2 * CHUNK),
            ],
        ),
        case(
            "expired",
            "the partial upload expired on the server: the next run starts over",
            vec![
                Run::stopped_after(2).then(Between::ExpireUploads),
                Run::done_from(0),
            ],
        ),
        twisted(
            "unknown-token",
            "a token the server does not know: sign in again",
            Twist::UnknownToken,
            Run::new(Expect::Failed {
                kind: "Unauthorized",
                says: "",
            }),
        ),
        twisted(
            "not-an-image",
            "the server refuses a file that is not an image, for good, saying what it takes",
            Twist::NotAnImage,
            Run::new(Expect::Failed {
                kind: "Refused",
                says: "JPEG",
            }),
        ),
        twisted(
            "no-upload-endpoint",
            "an address without the upload endpoint is not the photo's fault: try again later",
            Twist::NoUploadEndpoint,
            Run::transient(""),
        ),
    ]);
    all
}

/// What a driver needs to play a case, as the web driver receives it (JSON).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Plan {
    pub case: String,
    pub about: String,
    /// The server as the driver must reach it (through the fault proxy).
    pub server_url: String,
    pub token: String,
    pub sha256: String,
    pub size: u64,
    pub chunk_size: u64,
    /// Per run, the driver stops after this many `PATCH`es.
    pub runs: Vec<RunPlan>,
}

/// A run as the driver sees it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct RunPlan {
    pub max_chunks: Option<u64>,
}

/// What a driver reports after a run.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Report {
    /// `Done` or `Failed`.
    pub outcome: String,
    /// The `UploadErrorKind` of a failure (`Transient`, `Unauthorized`, `Refused`, `FileMissing`).
    #[serde(default)]
    pub error_kind: Option<String>,
    #[serde(default)]
    pub message: String,
    /// Every progress report, `(sent, total)`, in order.
    #[serde(default)]
    pub progress: Vec<(u64, u64)>,
}

/// A photo no other case uploads: noise seeded by the case name, as a JPEG of about 64 KB.
pub fn photo_for(case: &str) -> Vec<u8> {
    let seed = case.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let mut rng = Rng::new(seed);
    let (width, height) = (320_u32, 240_u32);
    let data = (0..width * height * 3)
        .map(|_| (rng.next_u64() >> 56) as u8)
        .collect();
    encode(
        &Rgb {
            width,
            height,
            data,
        },
        85,
        None,
    )
}

/// The sync server, serving until stopped.
struct Running {
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

/// Serves the data in `dir` on `addr` (port 0: any free one).
async fn serve(dir: &Path, addr: SocketAddr) -> anyhow::Result<(SocketAddr, Running)> {
    let server = Server::open(Config::new(dir)).context("opening the sync server")?;
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        server
            .serve(listener, async move {
                let _ = stopped.await;
            })
            .await
    });
    Ok((addr, Running { stop, task }))
}

impl Running {
    async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.task
            .await
            .context("the sync server's task")?
            .context("the sync server")
    }
}

/// The case being played.
struct Current {
    case: Case,
    photo: Vec<u8>,
    sha256: String,
    /// The next run expected.
    run: usize,
    /// Entries of the proxy's log before the current run.
    logged: usize,
}

/// The real sync server behind a fault proxy, and the case being played; see the crate docs.
pub struct Harness {
    dir: tempfile::TempDir,
    addr: SocketAddr,
    server: Option<Running>,
    proxy: FaultProxy,
    http: reqwest::Client,
    token: String,
    current: Option<Current>,
}

impl std::fmt::Debug for Harness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harness")
            .field("server", &self.addr)
            .field("proxy", &self.proxy.url())
            .field("case", &self.current.as_ref().map(|c| &c.case.name))
            .finish_non_exhaustive()
    }
}

fn patches() -> Match {
    Match::path_prefix("/v1/uploads/").method("PATCH")
}

impl Harness {
    /// Starts the server with the demo firm, its proxy, and signs the uploader in.
    pub async fn start() -> anyhow::Result<Harness> {
        let dir = tempfile::tempdir().context("a temp dir")?;
        let seeded = Server::open(Config::new(dir.path())).context("opening the data dir")?;
        seeded
            .state()
            .db
            .write(kvits_sync_server::demo::seed)
            .await
            .map_err(|e| anyhow::anyhow!("seeding the demo firm: {}", e.message))?;
        drop(seeded);
        let (addr, server) = serve(dir.path(), SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let proxy = FaultProxy::start(addr).context("starting the fault proxy")?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()?;
        let response = http
            .post(format!("http://{addr}/v1/auth/login"))
            .json(&LoginRequest {
                email: UPLOADER.into(),
                password: kvits_sync_server::demo::PASSWORD.into(),
                client_id: None,
                device_name: None,
            })
            .send()
            .await
            .context("signing in")?
            .error_for_status()
            .context("signing in")?;
        let token = response.json::<LoginResponse>().await?.token;
        Ok(Harness {
            dir,
            addr,
            server: Some(server),
            proxy,
            http,
            token,
            current: None,
        })
    }

    /// The server as drivers reach it: through the proxy.
    pub fn url(&self) -> String {
        self.proxy.url()
    }

    /// Starts playing the case named `name`.
    pub fn begin(&mut self, name: &str) -> anyhow::Result<Plan> {
        if let Some(current) = &self.current {
            bail!(
                "case {} is still being played: end it first",
                current.case.name
            );
        }
        let Some(case) = cases().into_iter().find(|c| c.name == name) else {
            bail!("no case is named {name:?}");
        };
        let photo = match case.twist {
            Some(Twist::NotAnImage) => b"Total 12,50 EUR\nThank you for shopping\n".repeat(2000),
            _ => photo_for(&case.name),
        };
        let sha256 = hex::encode(Sha256::digest(&photo));
        let plan = Plan {
            case: case.name.clone(),
            about: case.about.to_owned(),
            server_url: match case.twist {
                Some(Twist::NoUploadEndpoint) => format!("{}/nowhere", self.url()),
                _ => self.url(),
            },
            token: match case.twist {
                Some(Twist::UnknownToken) => "kvt_not-a-token".to_owned(),
                _ => self.token.clone(),
            },
            sha256: sha256.clone(),
            size: photo.len() as u64,
            chunk_size: CHUNK,
            runs: case
                .runs
                .iter()
                .map(|r| RunPlan {
                    max_chunks: r.max_chunks,
                })
                .collect(),
        };
        self.current = Some(Current {
            case,
            photo,
            sha256,
            run: 0,
            logged: 0,
        });
        Ok(plan)
    }

    /// The photo of the case being played.
    pub fn photo(&self) -> anyhow::Result<&[u8]> {
        Ok(&self.playing()?.photo)
    }

    fn playing(&self) -> anyhow::Result<&Current> {
        self.current.as_ref().context("no case is being played")
    }

    /// Sets run `run`'s faults up.
    pub fn arm(&mut self, run: usize) -> anyhow::Result<()> {
        let current = self.playing()?;
        if run != current.run {
            bail!("run {run} was armed, but run {} is next", current.run);
        }
        let Some(faults) = current.case.runs.get(run).map(|r| r.faults.clone()) else {
            bail!(
                "case {} has {} runs",
                current.case.name,
                current.case.runs.len()
            );
        };
        self.proxy.clear_faults();
        self.proxy.set_online(true);
        let logged = self.proxy.log().len();
        if let Some(current) = &mut self.current {
            current.logged = logged;
        }
        for fault in faults {
            match fault {
                Fault::Offline => self.proxy.set_online(false),
                Fault::CutBody { after } => self.proxy.cut_next_request(patches(), after),
                Fault::Damage => self.proxy.damage_next_request(patches()),
                Fault::Duplicate => self.proxy.duplicate_next_request(patches()),
                Fault::DropResponse => self.proxy.drop_next_response(patches()),
            }
        }
        Ok(())
    }

    /// Checks what the driver reported of run `run`, then does what comes before the next.
    pub async fn finish_run(&mut self, run: usize, report: &Report) -> anyhow::Result<()> {
        let current = self.playing()?;
        if run != current.run {
            bail!("run {run} was reported, but run {} is next", current.run);
        }
        let Some(spec) = current.case.runs.get(run).cloned() else {
            bail!(
                "case {} has {} runs",
                current.case.name,
                current.case.runs.len()
            );
        };
        let size = current.photo.len() as u64;
        let offline = spec.faults.contains(&Fault::Offline);
        self.proxy.set_online(true);
        let unspent = self.proxy.pending_faults();
        let statuses: Vec<u16> = self
            .proxy
            .log()
            .iter()
            .skip(current.logged)
            .filter_map(|e| e.status)
            .collect();
        self.proxy.clear_faults();

        let mut wrong = Vec::new();
        if unspent > 0 {
            wrong.push(format!(
                "{unspent} of the run's faults never struck: the driver sent fewer PATCHes than the case needs"
            ));
        }
        if let Some(status) = spec.saw_status
            && !statuses.contains(&status)
        {
            wrong.push(format!(
                "the server never answered {status} (it answered {statuses:?})"
            ));
        }
        if offline && !statuses.is_empty() {
            wrong.push(format!("requests reached the server offline: {statuses:?}"));
        }
        wrong.extend(check_progress(&report.progress, size));
        match spec.expect {
            Expect::Done { resumes_at } => {
                if report.outcome != "Done" {
                    wrong.push(format!(
                        "expected Done, got {} {:?}: {}",
                        report.outcome, report.error_kind, report.message
                    ));
                }
                if report.progress.last() != Some(&(size, size)) {
                    wrong.push(format!(
                        "the last progress report is {:?}, not ({size}, {size})",
                        report.progress.last()
                    ));
                }
                let first = report.progress.first().map(|p| p.0);
                match resumes_at {
                    Some(Resume::At(at)) if first != Some(at) => wrong.push(format!(
                        "the run should have started at byte {at}; its first report is {first:?}"
                    )),
                    Some(Resume::End) if report.progress != [(size, size)] => wrong.push(format!(
                        "nothing was left to send, yet progress went {:?}",
                        report.progress
                    )),
                    _ => {}
                }
            }
            Expect::Failed { kind, says } => {
                let kind_ok =
                    report.outcome == "Failed" && report.error_kind.as_deref() == Some(kind);
                if !kind_ok || !report.message.contains(says) {
                    wrong.push(format!(
                        "expected a {kind} failure saying {says:?}, got {} {:?}: {:?}",
                        report.outcome, report.error_kind, report.message
                    ));
                }
            }
        }
        if !wrong.is_empty() {
            bail!(
                "case {}, run {run}: {}",
                self.playing()?.case.name,
                wrong.join("; ")
            );
        }
        match spec.then {
            Some(Between::RestartServer) => self.restart().await?,
            Some(Between::ExpireUploads) => self.expire_uploads().await?,
            None => {}
        }
        if let Some(current) = &mut self.current {
            current.run += 1;
        }
        Ok(())
    }

    /// Checks that every run was played and the server holds the photo, then forgets the case.
    pub async fn end(&mut self) -> anyhow::Result<()> {
        let current = self.current.take().context("no case is being played")?;
        if current.run != current.case.runs.len() {
            bail!(
                "case {} ended after {} of its {} runs",
                current.case.name,
                current.run,
                current.case.runs.len()
            );
        }
        let base = format!("http://{}", self.addr);
        if !current.case.stores() {
            return self.holds_not(&base, &current).await;
        }
        let stored = self
            .http
            .get(format!("{base}/v1/blobs/{}", current.sha256))
            .bearer_auth(&self.token)
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
            .send()
            .await?;
        if !stored.status().is_success() {
            bail!(
                "case {}: the server does not hold the photo ({})",
                current.case.name,
                stored.status()
            );
        }
        if stored.bytes().await?.as_ref() != current.photo.as_slice() {
            bail!(
                "case {}: the stored blob differs from the photo",
                current.case.name
            );
        }
        // Starting the same upload again: the server says at once that it is complete.
        let status: UploadStatus = self
            .http
            .post(format!("{base}/v1/uploads"))
            .bearer_auth(&self.token)
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
            .header(UPLOAD_LENGTH, current.photo.len().to_string())
            .header(UPLOAD_SHA256, &current.sha256)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        if !status.complete {
            bail!(
                "case {}: the server still has a partial upload of the photo: {status:?}",
                current.case.name
            );
        }
        Ok(())
    }

    /// Checks that a case that must not store its photo did not.
    async fn holds_not(&self, base: &str, current: &Current) -> anyhow::Result<()> {
        let status = self
            .http
            .head(format!("{base}/v1/blobs/{}", current.sha256))
            .bearer_auth(&self.token)
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
            .send()
            .await?
            .status();
        if status != reqwest::StatusCode::NOT_FOUND {
            bail!(
                "case {}: the server should not hold the file, but answers {status}",
                current.case.name
            );
        }
        Ok(())
    }

    /// Stops the server and serves the same data on the same port again.
    async fn restart(&mut self) -> anyhow::Result<()> {
        if let Some(server) = self.server.take() {
            server.stop().await?;
        }
        let (_, server) = serve(self.dir.path(), self.addr).await?;
        self.server = Some(server);
        Ok(())
    }

    /// Lets every partial upload expire: a sweep with a time-to-live of zero.
    async fn expire_uploads(&mut self) -> anyhow::Result<()> {
        let config = Config {
            upload_ttl: Duration::ZERO,
            ..Config::new(self.dir.path())
        };
        let sweeper = Server::open(config)?;
        let swept = kvits_sync_server::uploads::sweep_once(sweeper.state())
            .await
            .map_err(|e| anyhow::anyhow!("sweeping uploads: {}", e.message))?;
        if swept == 0 {
            bail!("no partial upload was there to expire");
        }
        Ok(())
    }

    /// Stops the server.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        match self.server.take() {
            Some(server) => server.stop().await,
            None => Ok(()),
        }
    }
}

/// What is wrong with a run's progress reports: each total the photo's size, `sent` never
/// going back nor beyond the total.
fn check_progress(progress: &[(u64, u64)], size: u64) -> Vec<String> {
    let mut wrong = Vec::new();
    if progress
        .iter()
        .any(|&(sent, total)| total != size || sent > total)
    {
        wrong.push(format!(
            "progress reports {progress:?} do not fit a photo of {size} bytes"
        ));
    }
    if progress.windows(2).any(|w| w[1].0 < w[0].0) {
        wrong.push(format!("progress went backwards: {progress:?}"));
    }
    wrong
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_names_are_unique_and_photos_differ() {
        let all = cases();
        let mut names: Vec<&str> = all.iter().map(|c| c.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len());
        let a = photo_for("a");
        assert_ne!(a, photo_for("b"));
        assert_eq!(a, photo_for("a"));
        // Every run that stops early stops before the photo's last chunk.
        for c in &all {
            let size = photo_for(&c.name).len() as u64;
            for r in &c.runs {
                let stop = r.max_chunks.unwrap_or(1).max(2);
                assert!(stop * CHUNK < size, "{}: {size} bytes", c.name);
            }
        }
    }

    #[test]
    fn progress_checks_catch_what_a_driver_could_get_wrong() {
        assert!(check_progress(&[(0, 10), (5, 10), (10, 10)], 10).is_empty());
        assert_eq!(check_progress(&[(5, 10), (0, 10)], 10).len(), 1);
        assert_eq!(check_progress(&[(0, 9)], 10).len(), 1);
        assert_eq!(check_progress(&[(11, 10)], 10).len(), 1);
    }
}
