//! The world the scenarios run in: the real sync server in-process on 127.0.0.1, with the demo
//! firm, behind a proxy that can take the network away or lose an answer; and phones — the
//! native runtime, which is the app minus its screen — each with its own data directory.
//!
//! Waiting is always for a condition on a phone's view model (woken by the runtime's "view
//! changed"), with a timeout; never a fixed sleep.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use kvits_native::{Config, EffectKind, Runtime, Shell};
use kvits_sync_server::demo::Demo;
use kvits_sync_server::{Config as ServerConfig, Server};
use kvits_testkit::proxy::FaultProxy;
use shared::SessionEvent;
use shared::{Event, ViewModel};
use tokio::sync::watch;

/// How long a scenario waits for a condition before it fails.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// The server and the demo firm. Every phone reaches the server through its own proxy: its own
/// network, to take away or to lose answers on.
#[allow(missing_debug_implementations)]
pub struct World {
    pub server: Server,
    pub demo: Demo,
    /// The server's address (phones use their proxies).
    pub addr: std::net::SocketAddr,
    pub direct: String,
    pub http: reqwest::Client,
    dir: tempfile::TempDir,
    /// The server's data directory (another one after [`World::restore`]).
    data_dir: PathBuf,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl World {
    pub async fn start() -> World {
        let dir = tempfile::tempdir().expect("temp dir");
        let data_dir = dir.path().join("server");
        let server = Server::open(ServerConfig::new(&data_dir)).expect("server");
        let demo = server
            .state()
            .db
            .clone()
            .write(kvits_sync_server::demo::seed)
            .await
            .expect("demo firm");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let s = server.clone();
        let task = tokio::spawn(async move { s.serve(listener, std::future::pending()).await });
        World {
            server,
            demo,
            addr,
            direct: format!("http://{addr}"),
            http: reqwest::Client::new(),
            dir,
            data_dir,
            task,
        }
    }

    /// A backup of the server's data directory, taken while it serves (`kvits-server backup`).
    pub fn backup(&self) -> PathBuf {
        let out = self
            .dir
            .path()
            .join(format!("backup-{}.zip", rand_suffix()));
        kvits_sync_server::backup::backup(&self.data_dir, &out).expect("backup");
        out
    }

    /// The server is stopped, restored from `backup` into a new data directory
    /// (`kvits-server restore`) and started again at the same address.
    pub async fn restore(&mut self, backup: &Path) {
        self.task.abort();
        let _ = (&mut self.task).await;
        let data_dir = self
            .dir
            .path()
            .join(format!("server-restored-{}", rand_suffix()));
        kvits_sync_server::backup::restore(backup, &data_dir).expect("restore");
        let server = Server::open(ServerConfig::new(&data_dir)).expect("restored server");
        let listener = tokio::net::TcpListener::bind(self.addr)
            .await
            .expect("the same address again");
        let s = server.clone();
        self.task = tokio::spawn(async move { s.serve(listener, std::future::pending()).await });
        self.server = server;
        self.data_dir = data_dir;
        // Connections kept alive are still served by the old server's connection tasks.
        self.http = reqwest::Client::new();
    }

    /// A new phone (its own install) for the demo user `who` ("emma"), signed in.
    pub async fn phone(&self, who: &str) -> Phone {
        let mut phone = self.install(who);
        phone.sign_in(who).await;
        phone
    }

    /// A new install of the app, nobody signed in yet (`label` names its data directory).
    pub fn install(&self, label: &str) -> Phone {
        let data_dir = self
            .dir
            .path()
            .join(format!("phone-{label}-{}", rand_suffix()));
        let proxy = FaultProxy::start(self.addr).expect("proxy");
        Phone::start(proxy, data_dir)
    }

    /// A new install showing its sign-in screen, as a link opens it for someone invited.
    pub async fn install_signed_out(&self, label: &str) -> Phone {
        let mut phone = self.install(label);
        phone
            .wait_for("the sign-in screen", |v| {
                matches!(v.screen, shared::view::ScreenView::SignIn(_))
            })
            .await;
        phone
    }

    /// A receipt photo from the fixtures, copied where a camera would have put it.
    pub fn photo(&self, index: usize) -> PathBuf {
        let receipts = kvits_testkit::fixtures::receipts("scans");
        let r = &receipts[index % receipts.len()];
        let to = self.dir.path().join(format!("camera-{index}.jpg"));
        std::fs::copy(&r.path, &to).expect("copy fixture");
        to
    }

    /// Reads a row from the server's point of view of `who`: `GET path` with their token.
    pub async fn get_as(&self, token: &str, path: &str) -> serde_json::Value {
        self.http
            .get(format!("{}{path}", self.direct))
            .bearer_auth(token)
            .header(
                kvits_protocol::PROTOCOL_HEADER,
                kvits_protocol::PROTOCOL_VERSION.to_string(),
            )
            .send()
            .await
            .expect("server reachable")
            .json()
            .await
            .expect("json")
    }

    /// The bytes of a stored photo, downloaded as `token`'s user.
    pub async fn blob(&self, token: &str, sha256: &str) -> Vec<u8> {
        self.http
            .get(format!("{}/v1/blobs/{sha256}", self.direct))
            .bearer_auth(token)
            .send()
            .await
            .expect("server reachable")
            .bytes()
            .await
            .expect("the photo's bytes")
            .to_vec()
    }

    /// Signs `who` in directly against the server (not through a phone): a token to inspect
    /// the server's state with.
    pub async fn token(&self, who: &str) -> String {
        let r: serde_json::Value = self
            .http
            .post(format!("{}/v1/auth/login", self.direct))
            .json(&serde_json::json!({ "email": format!("{who}@demo.kvits"), "password": "demo" }))
            .send()
            .await
            .expect("server reachable")
            .json()
            .await
            .expect("json");
        r["token"].as_str().expect("token").to_string()
    }
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// Wakes waiters when the runtime says the view changed.
struct Changes(watch::Sender<u64>);

impl Shell for Changes {
    fn view_changed(&self) {
        self.0.send_modify(|n| *n += 1);
    }
    fn perform(&self, _id: u32, _kind: EffectKind, _operation: Vec<u8>) {}
}

/// A simulated phone.
#[allow(missing_debug_implementations)]
pub struct Phone {
    runtime: Option<Runtime>,
    pub data_dir: PathBuf,
    /// The phone's network.
    pub net: FaultProxy,
    changes: watch::Receiver<u64>,
    /// Photo upload chunk size when set (small chunks: an upload of several requests).
    upload_chunk: Option<usize>,
}

impl Phone {
    /// Starts the runtime on `data_dir` (new or left by an earlier run), online through `net`.
    pub fn start(net: FaultProxy, data_dir: PathBuf) -> Phone {
        let (runtime, changes) = launch(&net.url(), &data_dir, None);
        Phone {
            runtime: Some(runtime),
            data_dir,
            net,
            changes,
            upload_chunk: None,
        }
    }

    fn runtime(&self) -> &Runtime {
        self.runtime.as_ref().expect("the phone is running")
    }

    pub fn send(&self, event: Event) {
        self.runtime().send(event);
    }

    pub fn view(&self) -> ViewModel {
        self.runtime().view()
    }

    /// Waits until `condition` holds for the view model; fails with `what` and the last view.
    pub async fn wait_for(
        &mut self,
        what: &str,
        condition: impl Fn(&ViewModel) -> bool,
    ) -> ViewModel {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            self.changes.borrow_and_update();
            let view = self.view();
            if condition(&view) {
                return view;
            }
            match tokio::time::timeout_at(deadline, self.changes.changed()).await {
                Ok(Ok(())) => {}
                _ => panic!("timed out waiting for {what}; the view: {view:#?}"),
            }
        }
    }

    /// Signs in as the demo user `who` and waits for the first sync.
    pub async fn sign_in(&mut self, who: &str) {
        self.wait_for("the app to start", |v| {
            !matches!(v.screen, shared::view::ScreenView::Loading)
        })
        .await;
        self.send(Event::Session(SessionEvent::SignIn {
            email: format!("{who}@demo.kvits"),
            password: "demo".into(),
        }));
        self.wait_for("signing in", |v| {
            v.user.is_some() && v.status.last_synced.is_some()
        })
        .await;
    }

    /// Accepts the invitation of `link` (an invitation link, or its token) with `password`.
    pub fn accept_invitation(&self, link: &str, password: &str) {
        let token = link.rsplit('/').next().unwrap_or(link).to_owned();
        self.send(Event::Session(SessionEvent::AcceptInvitation {
            token,
            password: password.into(),
        }));
    }

    /// Waits until the sign-in screen says what `expected` accepts, and answers it.
    pub async fn sign_in_error(&mut self, what: &str, expected: impl Fn(&str) -> bool) -> String {
        let sign_in_error = |v: &ViewModel| match &v.screen {
            shared::view::ScreenView::SignIn(s) => s.error.clone(),
            _ => None,
        };
        let view = self
            .wait_for(what, |v| sign_in_error(v).is_some_and(|e| expected(&e)))
            .await;
        sign_in_error(&view).unwrap_or_default()
    }

    /// Takes the phone's network away or gives it back (and the platform says so).
    pub fn network(&self, online: bool) {
        self.net.set_online(online);
        self.send(Event::NetworkChanged { online });
    }

    /// The process dies: no shutdown, nothing saved but what the store committed.
    pub fn kill(&mut self) {
        self.runtime = None;
    }

    /// Starts again on the same data directory, with the same network.
    pub fn restart(&mut self) {
        self.runtime = None;
        let (runtime, changes) = launch(&self.net.url(), &self.data_dir, self.upload_chunk);
        self.runtime = Some(runtime);
        self.changes = changes;
    }

    /// Restarts with photos sent in chunks of `bytes`.
    pub fn with_upload_chunks(&mut self, bytes: usize) {
        self.upload_chunk = Some(bytes);
        self.restart();
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }
}

/// The runtime of a phone, and its "view changed" signal.
fn launch(
    server_url: &str,
    data_dir: &Path,
    upload_chunk: Option<usize>,
) -> (Runtime, watch::Receiver<u64>) {
    let (tx, rx) = watch::channel(0);
    let mut upload = kvits_native::upload::UploadOptions::default();
    if let Some(bytes) = upload_chunk {
        upload.chunk_size = bytes;
    }
    let runtime = Runtime::start(
        Config {
            data_dir: data_dir.to_path_buf(),
            server_url: server_url.to_string(),
            device_name: "Scenario phone".into(),
            utc_offset_minutes: 120,
            claimed: HashSet::new(),
            upload,
            // The phones' Keychain path is tested in kvits-native's own tests.
            secrets: None,
        },
        Arc::new(Changes(tx)),
    )
    .expect("the runtime starts");
    (runtime, rx)
}
