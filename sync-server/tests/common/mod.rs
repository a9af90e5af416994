//! An in-process sync server on 127.0.0.1:0 with the demo firm, and a small HTTP client.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use base64::Engine;
use kvits_protocol::{
    ClientId, LoginRequest, LoginResponse, Mutation, PendingMutation, PullQuery, PullResponse,
    PushRequest, PushResponse, ReceiptPage, UPLOAD_CHECKSUM, UPLOAD_LENGTH, UPLOAD_OFFSET,
    UPLOAD_SHA256, UploadStatus,
};
use kvits_sync_server::demo::Demo;
use kvits_sync_server::{Config, Server};
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running server. Dropping it stops it (without a graceful shutdown).
pub struct TestServer {
    pub base: String,
    pub http: reqwest::Client,
    pub dir: PathBuf,
    pub demo: Demo,
    pub server: Server,
    /// Keeps the temp dir alive (None after `restart` hands it on).
    tmp: Option<tempfile::TempDir>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    /// A fresh data dir with the demo firm.
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    /// Like [`start`], adjusting the config first.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> TestServer {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().to_owned();
        let mut server = Self::launch(dir, adjust).await;
        server.tmp = Some(tmp);
        server
    }

    async fn launch(dir: PathBuf, adjust: impl FnOnce(&mut Config)) -> TestServer {
        let mut config = Config::new(&dir);
        adjust(&mut config);
        let server = Server::open(config).expect("open server");
        let db = server.state().db.clone();
        let demo = db
            .write(kvits_sync_server::demo::seed)
            .await
            .expect("seed demo");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let s = server.clone();
        let task = tokio::spawn(async move {
            s.serve(listener, async move {
                let _ = stopped.await;
            })
            .await
        });
        TestServer {
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            dir,
            demo,
            server,
            tmp: None,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// A server on an existing data dir (one restored from a backup); the caller keeps the
    /// directory.
    #[allow(dead_code)] // not every test file restores
    pub async fn open_dir(dir: PathBuf) -> TestServer {
        Self::launch(dir, |_| {}).await
    }

    /// Stops the server abruptly and starts a new one on the same data dir.
    pub async fn restart(mut self) -> TestServer {
        let tmp = self.tmp.take();
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
        let dir = self.dir.clone();
        drop(self);
        let mut next = Self::launch(dir, |_| {}).await;
        next.tmp = tmp;
        next
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The address the server listens on (for a proxy in front of it).
    pub fn addr(&self) -> std::net::SocketAddr {
        self.base
            .trim_start_matches("http://")
            .parse()
            .expect("server address")
    }

    /// The server's SQLite file (to open a second connection on it, as another process would).
    pub fn db_path(&self) -> PathBuf {
        self.server.state().db.path().to_owned()
    }

    /// Signs a demo user in (password `demo`) on a new install; answers the token.
    pub async fn login(&self, email: &str) -> String {
        self.login_as(email, None).await.token
    }

    pub async fn login_as(&self, email: &str, client: Option<ClientId>) -> LoginResponse {
        let r = self
            .http
            .post(self.url("/v1/auth/login"))
            .json(&LoginRequest {
                email: email.into(),
                password: kvits_sync_server::demo::PASSWORD.into(),
                client_id: client,
                device_name: None,
            })
            .send()
            .await
            .expect("login request");
        assert_eq!(r.status(), 200, "login {email}");
        r.json().await.expect("login body")
    }

    /// A signed-in device: a token and its own client id.
    pub async fn device(&self, email: &str) -> Device {
        let client = ClientId(uuid::Uuid::now_v7());
        let login = self.login_as(email, Some(client)).await;
        Device {
            base: self.base.clone(),
            http: self.http.clone(),
            token: login.token,
            client,
            next_seq: 1,
            cursor: 0,
            user: login.session.user.id,
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl TestServer {
    /// The change counter a pull cursor (or a change's version) stands for: they are
    /// enciphered with the demo firm's key.
    pub async fn opened(&self, cursor: u64) -> u64 {
        let firm = self.demo.firm;
        let key = self
            .server
            .state()
            .db
            .read(move |c| kvits_sync_server::cursor::CursorKey::of_firm(c, firm))
            .await
            .expect("the firm's cursor key");
        key.open(cursor)
    }
}

/// A simulated app install: token, client id, its outbox counter and pull cursor.
#[derive(Clone, Debug)]
pub struct Device {
    pub base: String,
    pub http: reqwest::Client,
    pub token: String,
    pub client: ClientId,
    pub next_seq: u64,
    pub cursor: u64,
    pub user: kvits_protocol::UserId,
}

impl Device {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Queues `m` as the next mutation (without sending).
    pub fn queue(&mut self, m: Mutation) -> PendingMutation {
        let p = PendingMutation {
            seq: self.next_seq,
            created_at: chrono::Utc::now(),
            mutation: m,
        };
        self.next_seq += 1;
        p
    }

    /// Sends a push; answers the response as it came (status, headers, body).
    pub async fn push_response(&self, mutations: &[PendingMutation]) -> reqwest::Response {
        self.try_push(mutations).await.expect("push request")
    }

    /// Sends a push; answers the response, or the transport error (a lost answer).
    pub async fn try_push(
        &self,
        mutations: &[PendingMutation],
    ) -> reqwest::Result<reqwest::Response> {
        self.http
            .post(self.url("/v1/sync/push"))
            .bearer_auth(&self.token)
            .json(&PushRequest {
                client_id: self.client,
                mutations: mutations.to_vec(),
            })
            .send()
            .await
    }

    /// Sends a raw push; answers status and body text.
    pub async fn push_raw(&self, mutations: &[PendingMutation]) -> (u16, String) {
        let r = self.push_response(mutations).await;
        (r.status().as_u16(), r.text().await.expect("push body"))
    }

    /// Pushes, expecting 200.
    pub async fn push(&self, mutations: &[PendingMutation]) -> PushResponse {
        let (status, body) = self.push_raw(mutations).await;
        assert_eq!(status, 200, "push: {body}");
        serde_json::from_str(&body).expect("push response")
    }

    /// Queues and pushes one mutation; answers its result.
    pub async fn run(&mut self, m: Mutation) -> kvits_protocol::MutationResult {
        let p = self.queue(m);
        let mut r = self.push(&[p]).await;
        assert_eq!(r.results.len(), 1, "{r:?}");
        r.results.remove(0)
    }

    /// Starts a long poll from `cursor` that may wait `wait_secs`; the task answers the page and
    /// the time from this call to the answer.
    pub fn long_poll(
        &self,
        cursor: u64,
        wait_secs: u64,
    ) -> JoinHandle<(PullResponse, std::time::Duration)> {
        let url = format!(
            "{}?client_id={}&cursor={cursor}&wait={wait_secs}",
            self.url("/v1/sync/pull"),
            self.client
        );
        let (http, token) = (self.http.clone(), self.token.clone());
        let started = std::time::Instant::now();
        tokio::spawn(async move {
            let r = http.get(url).bearer_auth(token).send().await.expect("pull");
            assert_eq!(r.status(), 200);
            let page: PullResponse = r.json().await.expect("pull body");
            (page, started.elapsed())
        })
    }

    /// One pull page from `cursor`.
    pub async fn pull_from(&self, cursor: u64, limit: Option<u32>) -> PullResponse {
        let q = PullQuery {
            client_id: self.client,
            cursor,
            results_after: Some(0),
            wait: None,
            limit,
        };
        let r = self
            .http
            .get(self.url("/v1/sync/pull"))
            .bearer_auth(&self.token)
            .query(&q)
            .send()
            .await
            .expect("pull request");
        assert_eq!(r.status(), 200);
        r.json().await.expect("pull body")
    }

    /// Opens a client on this install (the firm's staff): its documents come with the pulls
    /// from now on. Answers whether it was newly opened.
    pub async fn open(&self, company: kvits_protocol::CompanyId) -> bool {
        let r = self.try_open(company).await;
        assert_eq!(r.status(), 200, "open {company}");
        let answer: kvits_protocol::OpenCompanyResponse = r.json().await.expect("open body");
        answer.newly_opened
    }

    /// `POST /v1/sync/open` for this install, answered as it comes.
    pub async fn try_open(&self, company: kvits_protocol::CompanyId) -> reqwest::Response {
        self.http
            .post(self.url("/v1/sync/open"))
            .bearer_auth(&self.token)
            .json(&kvits_protocol::OpenCompanyRequest {
                client_id: self.client,
                company_id: company,
            })
            .send()
            .await
            .expect("open request")
    }

    /// Pulls every page from the device's cursor; answers all changes.
    pub async fn pull_all(&mut self) -> Vec<kvits_protocol::Change> {
        let mut all = Vec::new();
        loop {
            let page = self.pull_from(self.cursor, None).await;
            if page.reset {
                all.clear();
            }
            self.cursor = page.cursor;
            all.extend(page.changes);
            if !page.has_more {
                return all;
            }
        }
    }

    /// GET with this device's token.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("get")
    }
}

/// The `i`-th real receipt scan of the fixtures (a JPEG), cycling through them in name order.
#[allow(dead_code)] // not every test file uploads photos
pub fn receipt(i: usize) -> Vec<u8> {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/receipts/scans");
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .expect("fixture dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .collect();
    files.sort();
    std::fs::read(&files[i % files.len()]).expect("fixture")
}

/// `POST /v1/uploads` for the whole of `data`, as `d`: the answer as it came.
pub async fn start_upload(srv: &TestServer, d: &Device, data: &[u8]) -> reqwest::Response {
    srv.http
        .post(srv.url("/v1/uploads"))
        .bearer_auth(&d.token)
        .header(UPLOAD_LENGTH, data.len().to_string())
        .header(UPLOAD_SHA256, hex::encode(Sha256::digest(data)))
        .send()
        .await
        .unwrap()
}

/// `PATCH /v1/uploads/{upload}` with the whole of `data` from offset 0: the answer as it came.
pub async fn send_whole(
    srv: &TestServer,
    d: &Device,
    upload: kvits_protocol::UploadId,
    data: &[u8],
) -> reqwest::Response {
    srv.http
        .patch(srv.url(&format!("/v1/uploads/{upload}")))
        .bearer_auth(&d.token)
        .header("content-type", kvits_protocol::OFFSET_CONTENT_TYPE)
        .header(UPLOAD_OFFSET, "0")
        .header(
            UPLOAD_CHECKSUM,
            format!(
                "sha256 {}",
                base64::engine::general_purpose::STANDARD.encode(Sha256::digest(data))
            ),
        )
        .body(data.to_vec())
        .send()
        .await
        .unwrap()
}

/// Uploads `data` through the real endpoints; answers its page.
pub async fn upload(srv: &TestServer, d: &Device, data: &[u8]) -> ReceiptPage {
    let sha = hex::encode(Sha256::digest(data));
    let r = start_upload(srv, d, data).await;
    assert_eq!(r.status(), 201);
    let status: UploadStatus = r.json().await.unwrap();
    let r = send_whole(srv, d, status.upload_id, data).await;
    assert_eq!(r.status(), 204);
    let info = kvits_imaging::probe(data).expect("an image");
    ReceiptPage {
        sha256: sha,
        size: data.len() as u64,
        content_type: "image/jpeg".into(),
        width: info.width,
        height: info.height,
    }
}

/// Birch Bakery's demo company.
pub const BIRCH: kvits_protocol::CompanyId = kvits_protocol::CompanyId(kvits_demo::BIRCH.id.0);

/// A meal at Birch Bakery paid with its Visa: `cents` euro cents at `merchant` on November
/// `day`, 2026.
pub fn birch_meal(cents: i64, merchant: &str, day: u32) -> kvits_protocol::ExpenseFields {
    kvits_protocol::ExpenseFields {
        expense_type_id: Some(kvits_demo::BIRCH.expense_type_id(kvits_demo::MEALS)),
        payment_method_id: Some(kvits_demo::BIRCH_VISA.id),
        amount: Some(kvits_protocol::Money {
            amount_minor: cents,
            currency: "EUR".into(),
        }),
        date: chrono::NaiveDate::from_ymd_opt(2026, 11, day),
        merchant: Some(merchant.into()),
        ..kvits_protocol::ExpenseFields::default()
    }
}

/// A receipt of `d`'s in `company` with `fields` and the fixture photo `photo`, created,
/// photographed and submitted through the real endpoints; answers its id and the photo's
/// SHA-256.
#[allow(dead_code)] // not every test file submits receipts
pub async fn submitted_receipt(
    srv: &TestServer,
    d: &mut Device,
    company: kvits_protocol::CompanyId,
    fields: kvits_protocol::ExpenseFields,
    photo: usize,
) -> (kvits_protocol::ExpenseId, String) {
    let id = kvits_protocol::ExpenseId(uuid::Uuid::now_v7());
    let page = upload(srv, d, &receipt(photo)).await;
    let sha = page.sha256.clone();
    applied(
        d,
        Mutation::CreateExpense {
            expense_id: id,
            company_id: company,
            document_type: kvits_protocol::DocumentType::Receipt,
            fields,
        },
    )
    .await;
    applied(
        d,
        Mutation::AttachReceipt {
            expense_id: id,
            pages: vec![page],
        },
    )
    .await;
    applied(d, Mutation::SubmitExpense { expense_id: id }).await;
    (id, sha)
}

/// Runs `m` on `d`, expecting it applied.
pub async fn applied(d: &mut Device, m: Mutation) {
    let r = d.run(m).await;
    assert!(r.outcome.is_success(), "{r:?}");
}

/// Runs `kvits-server admin <command> --data-dir <the test server's> <args>` (the server keeps
/// running, as an operator's would); answers (success, stdout, stderr).
pub fn admin(srv: &TestServer, command: &str, args: &[&str]) -> (bool, String, String) {
    let data_dir = srv.db_path().parent().expect("data dir").to_owned();
    // The order the operator's guide gives: the command, then the data directory.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kvits-server"))
        .args(["admin", command, "--data-dir"])
        .arg(&data_dir)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run kvits-server");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
