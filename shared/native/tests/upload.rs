//! The `Upload` effect against the real sync server, in-process on 127.0.0.1 with the demo firm:
//! a processed receipt photo goes up, resumes after a cut, survives a moved offset and damaged
//! chunks, and every failure comes back as the right `UploadErrorKind`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

use kvits_native::upload::{UploadOptions, upload, upload_with};
use kvits_protocol::{
    LoginRequest, LoginResponse, OFFSET_CONTENT_TYPE, PROTOCOL_HEADER, PROTOCOL_VERSION,
    UPLOAD_CHECKSUM, UPLOAD_LENGTH, UPLOAD_OFFSET, UPLOAD_SHA256, UploadStatus,
};
use kvits_sync_server::{Config, Server};
use reqwest::StatusCode;
use sha2::{Digest, Sha256};
use shared::effects::{UploadError, UploadErrorKind, UploadRequest, UploadUpdate};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

// ---------------------------------------------------------------------------------------------
// Harness

/// The sync server with the demo firm, in a temp dir; stopped on drop.
struct TestServer {
    base: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl TestServer {
    async fn start() -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let server = Server::open(Config::new(dir.path())).expect("open server");
        server
            .state()
            .db
            .write(kvits_sync_server::demo::seed)
            .await
            .expect("seed demo");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            server
                .serve(listener, async move {
                    let _ = stopped.await;
                })
                .await
        });
        TestServer {
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            _dir: dir,
            stop: Some(stop),
            task,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Signs a demo user in; answers the token.
    async fn login(&self, email: &str) -> String {
        let r = self
            .http
            .post(self.url("/v1/auth/login"))
            .json(&LoginRequest {
                email: email.into(),
                password: kvits_sync_server::demo::PASSWORD.into(),
                client_id: None,
                device_name: None,
            })
            .send()
            .await
            .expect("login");
        assert_eq!(r.status(), StatusCode::OK, "login {email}");
        r.json::<LoginResponse>().await.expect("login body").token
    }

    fn req(&self, method: reqwest::Method, path: &str, token: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .bearer_auth(token)
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
    }

    async fn head_blob(&self, sha: &str, token: &str) -> StatusCode {
        self.req(reqwest::Method::HEAD, &format!("/v1/blobs/{sha}"), token)
            .send()
            .await
            .expect("head blob")
            .status()
    }

    async fn get_blob(&self, sha: &str, token: &str) -> Vec<u8> {
        let r = self
            .req(reqwest::Method::GET, &format!("/v1/blobs/{sha}"), token)
            .send()
            .await
            .expect("get blob");
        assert_eq!(r.status(), StatusCode::OK);
        r.bytes().await.expect("blob bytes").to_vec()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.abort();
    }
}

/// A receipt as the phone uploads it: a scan through the photo pipeline, and its SHA-256.
fn photo() -> &'static (Vec<u8>, String) {
    static PHOTO: OnceLock<(Vec<u8>, String)> = OnceLock::new();
    PHOTO.get_or_init(|| {
        let scans = kvits_testkit::fixtures::receipts("scans");
        let scan = scans.first().expect("a receipt scan").bytes();
        let processed = kvits_imaging::process(&scan, &kvits_imaging::Options::default())
            .expect("the pipeline takes the scan");
        (processed.image.jpeg, processed.sha256)
    })
}

/// The photo written to a file in `dir`, and the request the core would make for it.
fn photo_request(dir: &Path, server_url: &str, token: &str) -> UploadRequest {
    let (jpeg, sha256) = photo();
    let path = dir.join(format!("{sha256}.jpg"));
    std::fs::write(&path, jpeg).expect("write photo");
    request_for(&path, jpeg, server_url, token)
}

fn request_for(path: &Path, data: &[u8], server_url: &str, token: &str) -> UploadRequest {
    UploadRequest {
        server_url: server_url.to_owned(),
        token: token.to_owned(),
        file_ref: path.to_string_lossy().into_owned(),
        sha256: hex::encode(Sha256::digest(data)),
        size: data.len() as u64,
        content_type: "image/jpeg".to_owned(),
    }
}

/// Runs an upload, recording every progress report.
async fn run(request: &UploadRequest, options: &UploadOptions) -> (UploadUpdate, Vec<(u64, u64)>) {
    let client = reqwest::Client::new();
    let mut seen = Vec::new();
    let mut progress = |sent: u64, total: u64| seen.push((sent, total));
    let last = upload_with(&client, request, options, &mut progress).await;
    (last, seen)
}

fn failure(update: UploadUpdate) -> UploadError {
    match update {
        UploadUpdate::Failed(e) => e,
        other => panic!("expected a failure, got {other:?}"),
    }
}

fn assert_monotonic_to(seen: &[(u64, u64)], total: u64) {
    assert!(!seen.is_empty());
    assert!(seen.iter().all(|&(_, t)| t == total), "{seen:?}");
    assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0), "{seen:?}");
    assert_eq!(seen.last(), Some(&(total, total)), "{seen:?}");
}

/// A URL on which nothing listens.
fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}")
}

// ---------------------------------------------------------------------------------------------
// A proxy that damages PATCH bodies

/// Forwards HTTP/1.1 to `upstream`, flipping one byte in the body of each `PATCH` while
/// `damage` is above zero (counting it down).
async fn damaging_proxy(upstream: String, damage: Arc<AtomicU32>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
    let addr = listener.local_addr().expect("proxy addr");
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let (upstream, damage) = (upstream.clone(), Arc::clone(&damage));
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(&upstream).await else {
                    return;
                };
                let (mut client_rx, mut client_tx) = client.into_split();
                let (mut server_rx, mut server_tx) = server.into_split();
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut server_rx, &mut client_tx).await;
                });
                let mut buf = Vec::new();
                loop {
                    // One request head...
                    let head_end = loop {
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                        let mut piece = [0u8; 8192];
                        match client_rx.read(&mut piece).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&piece[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
                    let length: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    // ...and its body.
                    while buf.len() < head_end + length {
                        let mut piece = [0u8; 8192];
                        match client_rx.read(&mut piece).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&piece[..n]),
                        }
                    }
                    let mut request: Vec<u8> = buf.drain(..head_end + length).collect();
                    if head.starts_with("patch ")
                        && length > 0
                        && damage
                            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |d| d.checked_sub(1))
                            .is_ok()
                    {
                        request[head_end + length / 2] ^= 0x40;
                    }
                    if server_tx.write_all(&request).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

// ---------------------------------------------------------------------------------------------
// Tests

/// A fresh upload stores the blob byte for byte, reporting progress from 0 to the total; the
/// same photo again is done at once, without a single chunk sent.
#[tokio::test]
async fn fresh_upload_then_done_at_once() {
    let srv = TestServer::start().await;
    let token = srv.login("emma@demo.kvits").await;
    let dir = tempfile::tempdir().expect("dir");
    let request = photo_request(dir.path(), &srv.base, &token);
    let (jpeg, sha) = photo();
    assert_eq!(srv.head_blob(sha, &token).await, StatusCode::NOT_FOUND);

    let client = reqwest::Client::new();
    let mut seen = Vec::new();
    let mut progress = |sent: u64, total: u64| seen.push((sent, total));
    let last = upload(&client, &request, &mut progress).await;
    assert_eq!(last, UploadUpdate::Done);
    assert_eq!(seen.first(), Some(&(0, request.size)), "{seen:?}");
    assert_monotonic_to(&seen, request.size);

    assert_eq!(srv.head_blob(sha, &token).await, StatusCode::OK);
    assert_eq!(&srv.get_blob(sha, &token).await, jpeg);

    // Again: no PATCH allowed, and none needed.
    let again = UploadOptions {
        max_chunks: Some(0),
        ..UploadOptions::default()
    };
    let (last, seen) = run(&request, &again).await;
    assert_eq!(last, UploadUpdate::Done);
    assert_eq!(seen, vec![(request.size, request.size)]);
}

/// An upload cut after its first chunk (as when the app is killed) is continued by the next
/// call from the server's offset, and the stored blob is whole.
#[tokio::test]
async fn a_cut_upload_resumes_at_the_servers_offset() {
    let srv = TestServer::start().await;
    let token = srv.login("emma@demo.kvits").await;
    let dir = tempfile::tempdir().expect("dir");
    let request = photo_request(dir.path(), &srv.base, &token);
    let (jpeg, sha) = photo();
    let chunk = 64 * 1024;
    assert!(request.size > 2 * chunk, "the photo spans several chunks");

    let cut = UploadOptions {
        chunk_size: chunk as usize,
        max_chunks: Some(1),
        ..UploadOptions::default()
    };
    let (last, seen) = run(&request, &cut).await;
    assert_eq!(failure(last).kind, UploadErrorKind::Transient);
    assert_eq!(seen, vec![(0, request.size), (chunk, request.size)]);
    assert_eq!(srv.head_blob(sha, &token).await, StatusCode::NOT_FOUND);

    // A new life of the app: `upload` knows only the file, and asks the server.
    let (last, seen) = run(&request, &UploadOptions::default()).await;
    assert_eq!(last, UploadUpdate::Done);
    assert_eq!(seen.first(), Some(&(chunk, request.size)), "{seen:?}");
    assert_monotonic_to(&seen, request.size);
    assert_eq!(&srv.get_blob(sha, &token).await, jpeg);
}

/// Someone else moves the upload on between the client's `POST` and its first `PATCH`: the
/// 409 answer's offset is where the client continues.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_409_moves_the_client_to_the_servers_offset() {
    let srv = TestServer::start().await;
    let token = srv.login("emma@demo.kvits").await;
    let dir = tempfile::tempdir().expect("dir");
    let request = photo_request(dir.path(), &srv.base, &token);
    let (jpeg, sha) = photo();
    let moved = 1000u64;

    let client = reqwest::Client::new();
    let mut seen = Vec::new();
    let (base, tok, data) = (srv.base.clone(), token.clone(), jpeg.clone());
    let mut progress = |sent: u64, total: u64| {
        if seen.is_empty() {
            // Another install of the same user sends the first bytes, right now.
            let (base, tok, data) = (base.clone(), tok.clone(), data.clone());
            std::thread::spawn(move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime")
                    .block_on(send_prefix(&base, &tok, &data, moved));
            })
            .join()
            .expect("the other install");
        }
        seen.push((sent, total));
    };
    let last = upload(&client, &request, &mut progress).await;
    assert_eq!(last, UploadUpdate::Done);
    assert_eq!(&seen[..2], &[(0, request.size), (moved, request.size)]);
    assert_monotonic_to(&seen, request.size);
    assert_eq!(&srv.get_blob(sha, &token).await, jpeg);
}

/// Finds the user's upload of `data` and appends its first `n` bytes.
async fn send_prefix(base: &str, token: &str, data: &[u8], n: u64) {
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{base}/v1/uploads"))
        .bearer_auth(token)
        .header(UPLOAD_LENGTH, data.len().to_string())
        .header(UPLOAD_SHA256, hex::encode(Sha256::digest(data)))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::OK, "the upload exists already");
    let status: UploadStatus = r.json().await.expect("status");
    let chunk = &data[..n as usize];
    let checksum = {
        use base64::Engine;
        format!(
            "sha256 {}",
            base64::engine::general_purpose::STANDARD.encode(Sha256::digest(chunk))
        )
    };
    let r = http
        .patch(format!("{base}/v1/uploads/{}", status.upload_id))
        .bearer_auth(token)
        .header("content-type", OFFSET_CONTENT_TYPE)
        .header(UPLOAD_OFFSET, "0")
        .header(UPLOAD_CHECKSUM, checksum)
        .body(chunk.to_vec())
        .send()
        .await
        .expect("patch");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
}

/// A chunk damaged on the way (460) is sent again; one damaged every time fails as transient.
#[tokio::test]
async fn damaged_chunks_are_resent_then_given_up() {
    let srv = TestServer::start().await;
    let token = srv.login("emma@demo.kvits").await;
    let dir = tempfile::tempdir().expect("dir");
    let damage = Arc::new(AtomicU32::new(u32::MAX));
    let proxy = damaging_proxy(
        srv.base.trim_start_matches("http://").to_owned(),
        damage.clone(),
    )
    .await;
    let request = photo_request(dir.path(), &proxy, &token);
    let (jpeg, sha) = photo();

    let (last, seen) = run(&request, &UploadOptions::default()).await;
    let e = failure(last);
    assert_eq!(e.kind, UploadErrorKind::Transient);
    assert!(e.message.contains("damaged"), "{}", e.message);
    assert_eq!(seen, vec![(0, request.size)]);
    let sent = u32::MAX - damage.load(Ordering::SeqCst);
    assert_eq!(sent, kvits_native::upload::CHECKSUM_ATTEMPTS);

    // Damaged once: the chunk goes again and the upload completes.
    damage.store(1, Ordering::SeqCst);
    let (last, seen) = run(&request, &UploadOptions::default()).await;
    assert_eq!(last, UploadUpdate::Done);
    assert_eq!(damage.load(Ordering::SeqCst), 0);
    assert_monotonic_to(&seen, request.size);
    assert_eq!(&srv.get_blob(sha, &token).await, jpeg);
}

/// The local file is checked before anything is sent (the server URL here is a closed port:
/// reaching the network would be a transient failure instead).
#[tokio::test]
async fn local_file_problems_fail_before_the_network() {
    let dir = tempfile::tempdir().expect("dir");
    let url = closed_port_url();
    let good = photo_request(dir.path(), &url, "token");

    let missing = UploadRequest {
        file_ref: dir.path().join("gone.jpg").to_string_lossy().into_owned(),
        ..good.clone()
    };
    let (last, seen) = run(&missing, &UploadOptions::default()).await;
    assert_eq!(failure(last).kind, UploadErrorKind::FileMissing);
    assert!(seen.is_empty());

    let wrong_size = UploadRequest {
        size: good.size + 1,
        ..good.clone()
    };
    let e = failure(run(&wrong_size, &UploadOptions::default()).await.0);
    assert_eq!(e.kind, UploadErrorKind::Refused);
    assert!(
        e.message.starts_with("the photo file changed"),
        "{}",
        e.message
    );

    // Same size, other bytes.
    let mut changed = photo().0.clone();
    let middle = changed.len() / 2;
    changed[middle] ^= 1;
    let path: PathBuf = dir.path().join("changed.jpg");
    std::fs::write(&path, &changed).expect("write");
    let e = failure(
        run(
            &UploadRequest {
                file_ref: path.to_string_lossy().into_owned(),
                ..good.clone()
            },
            &UploadOptions::default(),
        )
        .await
        .0,
    );
    assert_eq!(e.kind, UploadErrorKind::Refused);
    assert!(
        e.message.starts_with("the photo file changed"),
        "{}",
        e.message
    );
}

/// A token the server does not know is `Unauthorized`; a server that is not there, or no
/// upload endpoint at the address, is `Transient`; a file the server will not take as an image
/// is `Refused` with the server's message.
#[tokio::test]
async fn server_answers_map_to_error_kinds() {
    let srv = TestServer::start().await;
    let token = srv.login("emma@demo.kvits").await;
    let dir = tempfile::tempdir().expect("dir");

    let bad_token = photo_request(dir.path(), &srv.base, "kvt_not-a-token");
    let e = failure(run(&bad_token, &UploadOptions::default()).await.0);
    assert_eq!(e.kind, UploadErrorKind::Unauthorized, "{}", e.message);

    let down = photo_request(dir.path(), &closed_port_url(), &token);
    let e = failure(run(&down, &UploadOptions::default()).await.0);
    assert_eq!(e.kind, UploadErrorKind::Transient);
    assert!(
        e.message.contains("could not reach the server"),
        "{}",
        e.message
    );

    // An address with no upload endpoint (a wrong path, a captive portal): not the photo's fault.
    let nowhere = photo_request(dir.path(), &srv.url("/nowhere"), &token);
    let e = failure(run(&nowhere, &UploadOptions::default()).await.0);
    assert_eq!(e.kind, UploadErrorKind::Transient, "{}", e.message);

    let text = b"Total 12,50 EUR\nThank you for shopping\n".repeat(50);
    let path = dir.path().join("note.jpg");
    std::fs::write(&path, &text).expect("write");
    let not_an_image = request_for(&path, &text, &srv.base, &token);
    let (last, seen) = run(&not_an_image, &UploadOptions::default()).await;
    let e = failure(last);
    assert_eq!(e.kind, UploadErrorKind::Refused);
    assert!(!e.message.is_empty());
    assert_eq!(seen, vec![(0, text.len() as u64)]);
    assert_eq!(
        srv.head_blob(&not_an_image.sha256, &token).await,
        StatusCode::NOT_FOUND
    );
}
