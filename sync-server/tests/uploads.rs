//! Resumable uploads and blob downloads over real HTTP (docs/design.md §3 point 4, §5).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use common::TestServer;
use kvits_protocol::{
    CHECKSUM_MISMATCH_STATUS, DocumentType, ErrorBody, ErrorCode, ExpenseFields, ExpenseId,
    MAX_BLOB_BYTES, Money, Mutation, OFFSET_CONTENT_TYPE, Outcome, ReceiptPage, UPLOAD_CHECKSUM,
    UPLOAD_EXPIRES, UPLOAD_LENGTH, UPLOAD_OFFSET, UPLOAD_SHA256, UploadStatus,
};
use kvits_testkit::bombs::png_claiming;
use reqwest::{Response, StatusCode};
use sha2::{Digest, Sha256};

// ---------------------------------------------------------------------------------------------
// Helpers

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/receipts/scans");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixture dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .collect();
    files.sort();
    assert!(files.len() >= 6, "receipt scans in {}", dir.display());
    files
}

/// The `i`-th receipt scan (a real JPEG, ~200 KB–1 MB).
fn receipt(i: usize) -> Vec<u8> {
    let files = fixtures();
    std::fs::read(&files[i % files.len()]).expect("fixture")
}

fn sha_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn checksum(data: &[u8]) -> String {
    format!(
        "sha256 {}",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(data))
    )
}

fn header<'r>(r: &'r Response, name: &str) -> Option<&'r str> {
    r.headers().get(name).and_then(|v| v.to_str().ok())
}

fn header_u64(r: &Response, name: &str) -> Option<u64> {
    header(r, name).and_then(|v| v.parse().ok())
}

/// Complete fields for an expense in Birch Bakery, dated today: its first expense type and
/// payment method, `amount_minor` euro cents at `merchant`.
fn birch_fields(srv: &TestServer, amount_minor: i64, merchant: &str) -> ExpenseFields {
    ExpenseFields {
        expense_type_id: srv
            .demo
            .expense_types
            .iter()
            .find(|((company, _), _)| *company == "Birch Bakery")
            .map(|(_, id)| *id),
        payment_method_id: srv
            .demo
            .payment_methods
            .iter()
            .find(|((company, _), _)| *company == "Birch Bakery")
            .map(|(_, id)| *id),
        amount: Some(Money {
            amount_minor,
            currency: "EUR".into(),
        }),
        base_amount: None,
        date: Some(chrono::Utc::now().date_naive()),
        merchant: Some(merchant.into()),
        note: None,
        vat: Vec::new(),
        account_code: None,
    }
}

async fn error_body(r: Response) -> ErrorBody {
    r.json().await.expect("error body")
}

/// One signed-in user talking to the upload endpoints.
struct Uploader<'s> {
    srv: &'s TestServer,
    token: String,
}

impl<'s> Uploader<'s> {
    async fn new(srv: &'s TestServer, email: &str) -> Uploader<'s> {
        Uploader {
            srv,
            token: srv.login(email).await,
        }
    }

    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.srv
            .http
            .request(method, self.srv.url(path))
            .bearer_auth(&self.token)
    }

    async fn post(&self, sha: &str, length: u64) -> Response {
        self.req(reqwest::Method::POST, "/v1/uploads")
            .header(UPLOAD_LENGTH, length.to_string())
            .header(UPLOAD_SHA256, sha)
            .send()
            .await
            .expect("post")
    }

    /// Starts the upload of `data`, expecting a new (201) or resumed (200) upload; answers
    /// its id and offset.
    async fn start(&self, data: &[u8]) -> (String, u64) {
        let r = self.post(&sha_hex(data), data.len() as u64).await;
        assert!(
            r.status() == StatusCode::CREATED || r.status() == StatusCode::OK,
            "{}",
            r.status()
        );
        let offset = header_u64(&r, UPLOAD_OFFSET).expect("upload-offset");
        let location = header(&r, "location").expect("location").to_owned();
        let status: UploadStatus = r.json().await.expect("status body");
        assert!(!status.complete);
        assert_eq!(status.offset, offset);
        assert_eq!(status.length, data.len() as u64);
        assert_eq!(location, format!("/v1/uploads/{}", status.upload_id));
        (status.upload_id.to_string(), offset)
    }

    async fn head_upload(&self, id: &str) -> Response {
        self.req(reqwest::Method::HEAD, &format!("/v1/uploads/{id}"))
            .send()
            .await
            .expect("head upload")
    }

    async fn offset(&self, id: &str) -> u64 {
        let r = self.head_upload(id).await;
        assert_eq!(r.status(), StatusCode::OK);
        header_u64(&r, UPLOAD_OFFSET).expect("upload-offset")
    }

    async fn patch_raw(
        &self,
        id: &str,
        offset: u64,
        chunk: &[u8],
        checksum: &str,
        content_type: &str,
    ) -> Response {
        self.req(reqwest::Method::PATCH, &format!("/v1/uploads/{id}"))
            .header("content-type", content_type)
            .header(UPLOAD_OFFSET, offset.to_string())
            .header(UPLOAD_CHECKSUM, checksum)
            .body(chunk.to_vec())
            .send()
            .await
            .expect("patch")
    }

    /// A PATCH whose connection may be cut by an early refusal: its status, if it got one.
    async fn try_patch(&self, id: &str, offset: u64, chunk: &[u8]) -> Option<StatusCode> {
        self.req(reqwest::Method::PATCH, &format!("/v1/uploads/{id}"))
            .header("content-type", OFFSET_CONTENT_TYPE)
            .header(UPLOAD_OFFSET, offset.to_string())
            .header(UPLOAD_CHECKSUM, checksum(chunk))
            .body(chunk.to_vec())
            .send()
            .await
            .ok()
            .map(|r| r.status())
    }

    async fn patch(&self, id: &str, offset: u64, chunk: &[u8]) -> Response {
        self.patch_raw(id, offset, chunk, &checksum(chunk), OFFSET_CONTENT_TYPE)
            .await
    }

    /// Sends `data[from..]` in chunks of `chunk` bytes; answers the last response.
    async fn send_from(&self, id: &str, data: &[u8], from: u64, chunk: usize) -> Response {
        let mut offset = from as usize;
        loop {
            let end = (offset + chunk).min(data.len());
            let r = self.patch(id, offset as u64, &data[offset..end]).await;
            if end == data.len() || r.status() != StatusCode::NO_CONTENT {
                return r;
            }
            assert_eq!(header_u64(&r, UPLOAD_OFFSET), Some(end as u64));
            offset = end;
        }
    }

    /// Uploads `data` whole in chunks of `chunk` bytes, expecting success.
    async fn upload(&self, data: &[u8], chunk: usize) -> String {
        let (id, offset) = self.start(data).await;
        let r = self.send_from(&id, data, offset, chunk).await;
        assert_eq!(r.status(), StatusCode::NO_CONTENT, "{:?}", r.text().await);
        id
    }

    async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        let mut req = self.req(reqwest::Method::GET, path);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        req.send().await.expect("get")
    }

    async fn head_blob(&self, sha: &str) -> Response {
        self.req(reqwest::Method::HEAD, &format!("/v1/blobs/{sha}"))
            .send()
            .await
            .expect("head blob")
    }
}

async fn count(srv: &TestServer, sql: &'static str) -> i64 {
    srv.server
        .state()
        .db
        .read(move |c| Ok(c.query_row(sql, [], |r| r.get(0))?))
        .await
        .expect("count")
}

/// Every file under `dir` (recursively).
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn part_file(srv: &TestServer, id: &str) -> PathBuf {
    srv.dir.join("uploads").join(format!("{id}.part"))
}

/// Nothing stored, nothing pending: no blob rows or files, no upload rows or partial files.
async fn assert_nothing_left(srv: &TestServer) {
    assert_eq!(count(srv, "SELECT count(*) FROM blobs").await, 0);
    assert_eq!(count(srv, "SELECT count(*) FROM uploads").await, 0);
    assert_eq!(files_under(&srv.dir.join("blobs")), Vec::<PathBuf>::new());
    assert_eq!(files_under(&srv.dir.join("uploads")), Vec::<PathBuf>::new());
}

// ---------------------------------------------------------------------------------------------
// Tests

#[tokio::test]
async fn full_upload_in_chunks_then_download() {
    let srv = TestServer::start().await;
    let emma = Uploader::new(&srv, "emma@demo.kvits").await;
    let data = receipt(0);
    let sha = sha_hex(&data);

    assert_eq!(emma.head_blob(&sha).await.status(), StatusCode::NOT_FOUND);

    let r = emma.post(&sha, data.len() as u64).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(header_u64(&r, UPLOAD_OFFSET), Some(0));
    let expires = header(&r, UPLOAD_EXPIRES).expect("upload-expires");
    assert!(
        chrono::DateTime::parse_from_rfc3339(expires).is_ok(),
        "{expires}"
    );
    let status: UploadStatus = r.json().await.expect("body");
    let id = status.upload_id.to_string();
    assert_eq!(status.sha256, sha);

    let head = emma.head_upload(&id).await;
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(header_u64(&head, UPLOAD_OFFSET), Some(0));
    assert_eq!(header_u64(&head, UPLOAD_LENGTH), Some(data.len() as u64));
    assert_eq!(header(&head, "cache-control"), Some("no-store"));

    // Four chunks.
    let chunk = data.len().div_ceil(4);
    let r = emma.send_from(&id, &data, 0, chunk).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(header_u64(&r, UPLOAD_OFFSET), Some(data.len() as u64));

    // The upload is gone, the blob is there.
    assert_eq!(emma.head_upload(&id).await.status(), StatusCode::NOT_FOUND);
    assert!(!part_file(&srv, &id).exists());
    let head = emma.head_blob(&sha).await;
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(header_u64(&head, "content-length"), Some(data.len() as u64));
    assert_eq!(header(&head, "etag"), Some(format!("\"{sha}\"").as_str()));

    let r = emma.get(&format!("/v1/blobs/{sha}"), &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "content-type"), Some("image/jpeg"));
    assert_eq!(header(&r, "etag"), Some(format!("\"{sha}\"").as_str()));
    assert_eq!(
        header(&r, "cache-control"),
        Some("private, no-cache"),
        "a browser asks again before each use: access can end"
    );
    assert_eq!(header(&r, "accept-ranges"), Some("bytes"));
    let body = r.bytes().await.expect("bytes");
    assert_eq!(sha_hex(&body), sha);

    let r = emma.get(&format!("/v1/blobs/{sha}/thumbnail"), &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "content-type"), Some("image/jpeg"));
    let thumb = r.bytes().await.expect("thumbnail");
    assert!(thumb.starts_with(&[0xFF, 0xD8, 0xFF]));
    assert!(thumb.len() < data.len() / 2, "{} bytes", thumb.len());
    let info = kvits_imaging::probe(&thumb).expect("thumbnail is an image");
    assert!(info.width.max(info.height) <= kvits_imaging::THUMBNAIL_LONG_EDGE);

    // The row describes the image.
    let source = kvits_imaging::probe(&data).expect("fixture");
    let (w, h) = source.upright_dimensions();
    let sha2 = sha.clone();
    let row: (i64, String, i64, i64, String) = srv
        .server
        .state()
        .db
        .read(move |c| {
            Ok(c.query_row(
                "SELECT size, content_type, width, height, uploaded_by FROM blobs
                 WHERE sha256 = ?1",
                [sha2],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )?)
        })
        .await
        .expect("blob row");
    assert_eq!(row.0, data.len() as i64);
    assert_eq!(row.1, "image/jpeg");
    assert_eq!((row.2, row.3), (i64::from(w), i64::from(h)));
    assert_eq!(row.4, srv.demo.user("emma@demo.kvits").to_string());

    // Asking again: already complete.
    let r = emma.post(&sha, data.len() as u64).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header_u64(&r, UPLOAD_OFFSET), Some(data.len() as u64));
    let status: UploadStatus = r.json().await.expect("body");
    assert!(status.complete);
    assert_eq!(status.offset, data.len() as u64);
}

#[tokio::test]
async fn resumes_after_a_cut_at_any_offset() {
    let srv = TestServer::start().await;
    let emma = Uploader::new(&srv, "emma@demo.kvits").await;
    for (i, cut) in ["zero", "one", "mid", "last"].into_iter().enumerate() {
        let data = receipt(i + 1);
        let len = data.len() as u64;
        let cut = match cut {
            "zero" => 0,
            "one" => 1,
            "mid" => len / 2,
            _ => len - 1,
        };
        let (id, offset) = emma.start(&data).await;
        assert_eq!(offset, 0);
        if cut > 0 {
            let r = emma.patch(&id, 0, &data[..cut as usize]).await;
            assert_eq!(r.status(), StatusCode::NO_CONTENT);
        }
        // The app restarts and knows only the hash: POST answers the same upload.
        let r = emma.post(&sha_hex(&data), len).await;
        assert_eq!(r.status(), StatusCode::OK, "cut at {cut}");
        assert_eq!(header_u64(&r, UPLOAD_OFFSET), Some(cut));
        let again: UploadStatus = r.json().await.expect("body");
        assert_eq!(again.upload_id.to_string(), id);
        assert_eq!(again.offset, cut);
        assert_eq!(emma.offset(&id).await, cut);

        let r = emma.send_from(&id, &data, cut, 128 * 1024).await;
        assert_eq!(r.status(), StatusCode::NO_CONTENT, "cut at {cut}");
        let body = emma
            .get(&format!("/v1/blobs/{}", sha_hex(&data)), &[])
            .await
            .bytes()
            .await
            .expect("bytes");
        assert_eq!(body.as_ref(), data.as_slice(), "cut at {cut}");
    }
    assert_eq!(count(&srv, "SELECT count(*) FROM blobs").await, 4);
    assert_eq!(count(&srv, "SELECT count(*) FROM uploads").await, 0);
}

/// Sends the PATCH of `chunk` at `offset` on a raw connection as the app does (the whole
/// chunk's Content-Length and checksum) but writes only its first `sent` bytes, then the
/// connection ends: `abrupt` drops the socket at once; otherwise it closes its sending side and
/// reads until the server closes (so the server is done with the request) and answers what came.
async fn cut_patch(
    up: &Uploader<'_>,
    id: &str,
    offset: u64,
    chunk: &[u8],
    sent: usize,
    abrupt: bool,
) -> Vec<u8> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = up.srv.addr();
    let mut socket = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "PATCH /v1/uploads/{id} HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {token}\r\n\
         content-type: {OFFSET_CONTENT_TYPE}\r\n{UPLOAD_OFFSET}: {offset}\r\n\
         {UPLOAD_CHECKSUM}: {sum}\r\ncontent-length: {len}\r\n\r\n",
        token = up.token,
        sum = checksum(chunk),
        len = chunk.len(),
    );
    socket.write_all(head.as_bytes()).await.expect("head");
    socket
        .write_all(&chunk[..sent])
        .await
        .expect("part of the body");
    socket.flush().await.expect("flush");
    if abrupt {
        drop(socket);
        return Vec::new();
    }
    socket.shutdown().await.expect("close the sending side");
    let mut answer = Vec::new();
    // A reset instead of an answer is fine too: the request was cut either way.
    let _ = tokio::time::timeout(Duration::from_secs(30), socket.read_to_end(&mut answer))
        .await
        .expect("the server closes a cut request's connection");
    answer
}

#[tokio::test]
async fn a_patch_cut_mid_body_keeps_nothing_of_its_chunk_and_resumes() {
    let srv = TestServer::start().await;
    let emma = Uploader::new(&srv, "emma@demo.kvits").await;
    let mut rng = kvits_testkit::rng::Rng::new(0x6b76_6974_7321);
    const CASES: usize = 12;
    for case in 0..CASES {
        let data = receipt(case);
        let len = data.len();
        let sha = sha_hex(&data);
        let chunk = match case {
            1 => len / 3,
            _ => 8 * 1024 + (rng.next_u64() % (248 * 1024)) as usize,
        };
        // Where the connection dies, counted in bytes of the file; the first cases are the
        // edges: before anything, at a chunk boundary after whole chunks, the last byte.
        let cut = match case {
            0 => 0,
            1 => 2 * chunk,
            2 => len - 1,
            _ => (rng.next_u64() % len as u64) as usize,
        };
        let start = cut / chunk * chunk;
        let sent = cut - start;
        let abrupt = case % 2 == 1;
        let what = format!("case {case}: {len} bytes, chunks of {chunk}, cut at {cut}");

        let (id, offset) = emma.start(&data).await;
        assert_eq!(offset, 0);
        for from in (0..start).step_by(chunk) {
            let r = emma
                .patch(&id, from as u64, &data[from..from + chunk])
                .await;
            assert_eq!(r.status(), StatusCode::NO_CONTENT, "{what}");
        }
        let cut_chunk = &data[start..(start + chunk).min(len)];
        let answer = cut_patch(&emma, &id, start as u64, cut_chunk, sent, abrupt).await;
        assert!(
            answer.is_empty() || answer.starts_with(b"HTTP/1.1 4"),
            "{what}: {}",
            String::from_utf8_lossy(&answer)
        );

        // A chunk is kept whole or not at all (its checksum covers all of it): the upload
        // continues where the cut chunk began, in the row and in the file.
        assert_eq!(emma.offset(&id).await, start as u64, "{what}");
        let kept = std::fs::metadata(part_file(&srv, &id)).map_or(0, |m| m.len());
        assert_eq!(kept, start as u64, "{what}");
        // The app restarts knowing only the hash: the same upload, at the same offset.
        let r = emma.post(&sha, len as u64).await;
        assert_eq!(r.status(), StatusCode::OK, "{what}");
        let again: UploadStatus = r.json().await.expect("body");
        assert_eq!(
            (again.upload_id.to_string(), again.offset),
            (id.clone(), start as u64)
        );

        let r = emma.send_from(&id, &data, start as u64, chunk).await;
        assert_eq!(r.status(), StatusCode::NO_CONTENT, "{what}");
        assert_eq!(emma.head_upload(&id).await.status(), StatusCode::NOT_FOUND);
        let body = emma.get(&format!("/v1/blobs/{sha}"), &[]).await;
        assert_eq!(body.status(), StatusCode::OK, "{what}");
        let body = body.bytes().await.expect("bytes");
        assert_eq!(sha_hex(&body), sha, "{what}");
        assert_eq!(body.as_ref(), data.as_slice(), "{what}");
    }
    assert_eq!(
        count(&srv, "SELECT count(*) FROM blobs").await,
        CASES as i64
    );
    assert_eq!(count(&srv, "SELECT count(*) FROM uploads").await, 0);
}

#[tokio::test]
async fn wrong_offset_is_409_with_the_right_offset() {
    let srv = TestServer::start().await;
    let emma = Uploader::new(&srv, "emma@demo.kvits").await;
    let data = receipt(0);
    let (id, _) = emma.start(&data).await;
    assert_eq!(
        emma.patch(&id, 0, &data[..1000]).await.status(),
        StatusCode::NO_CONTENT
    );

    for wrong in [0, 999, 1001, data.len() as u64] {
        let r = emma.patch(&id, wrong, &data[1000..2000]).await;
        assert_eq!(r.status(), StatusCode::CONFLICT, "offset {wrong}");
        assert_eq!(header_u64(&r, UPLOAD_OFFSET), Some(1000));
        let err = error_body(r).await;
        assert_eq!(err.code, ErrorCode::OffsetMismatch);
        assert_eq!(err.details.expect("details")["offset"], 1000);
    }
    assert_eq!(emma.offset(&id).await, 1000);
    let r = emma.send_from(&id, &data, 1000, 256 * 1024).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_corrupt_chunk_is_460_and_not_kept() {
    let srv = TestServer::start().await;
    let emma = Uploader::new(&srv, "emma@demo.kvits").await;
    let data = receipt(0);
    let (id, _) = emma.start(&data).await;
    assert_eq!(
        emma.patch(&id, 0, &data[..5000]).await.status(),
        StatusCode::NO_CONTENT
    );

    // The checksum was made before a bit flipped on the way.
    let mut damaged = data[5000..10_000].to_vec();
    damaged[17] ^= 0x04;
    let r = emma
        .patch_raw(
            &id,
            5000,
            &damaged,
            &checksum(&data[5000..10_000]),
            OFFSET_CONTENT_TYPE,
        )
        .await;
    assert_eq!(r.status().as_u16(), CHECKSUM_MISMATCH_STATUS);
    assert_eq!(error_body(r).await.code, ErrorCode::ChecksumMismatch);
    assert_eq!(emma.offset(&id).await, 5000);
    assert_eq!(
        std::fs::metadata(part_file(&srv, &id)).expect("part").len(),
        5000
    );

    // Malformed requests change nothing either.
    let chunk = &data[5000..10_000];
    let cases: [(&str, &str, StatusCode); 5] = [
        ("sha256 AAAA", OFFSET_CONTENT_TYPE, StatusCode::BAD_REQUEST),
        ("sha256 !!!", OFFSET_CONTENT_TYPE, StatusCode::BAD_REQUEST),
        (
            "md5 1B2M2Y8AsgTpgAmY7PhCfg==",
            OFFSET_CONTENT_TYPE,
            StatusCode::BAD_REQUEST,
        ),
        ("", OFFSET_CONTENT_TYPE, StatusCode::BAD_REQUEST),
        (
            "x",
            "application/octet-stream",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
    ];
    for (sum, content_type, expected) in cases {
        let r = emma.patch_raw(&id, 5000, chunk, sum, content_type).await;
        assert_eq!(r.status(), expected, "{sum:?} {content_type}");
    }
    let r = emma
        .req(reqwest::Method::PATCH, &format!("/v1/uploads/{id}"))
        .header("content-type", OFFSET_CONTENT_TYPE)
        .header(UPLOAD_OFFSET, "5000")
        .body(chunk.to_vec())
        .send()
        .await
        .expect("patch");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "no checksum");
    assert_eq!(emma.offset(&id).await, 5000);

    // More than the file lacks.
    let mut too_much = data[5000..].to_vec();
    too_much.push(0);
    let r = emma.patch(&id, 5000, &too_much).await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(emma.offset(&id).await, 5000);

    let r = emma.send_from(&id, &data, 5000, 300 * 1024).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let body = emma
        .get(&format!("/v1/blobs/{}", sha_hex(&data)), &[])
        .await;
    assert_eq!(sha_hex(&body.bytes().await.expect("bytes")), sha_hex(&data));
}

#[tokio::test]
async fn whole_file_hash_mismatch_is_422_and_stores_nothing() {
    let srv = TestServer::start().await;
    let emma = Uploader::new(&srv, "emma@demo.kvits").await;
    let data = receipt(0);
    let mut other = data.clone();
    let mid = other.len() / 2;
    other[mid] ^= 0x01;

    // Declares `data`, sends `other` (every chunk's own checksum is right).
    let r = emma.post(&sha_hex(&data), data.len() as u64).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r
        .json::<UploadStatus>()
        .await
        .expect("body")
        .upload_id
        .to_string();
    let r = emma.send_from(&id, &other, 0, 200 * 1024).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_body(r).await.code, ErrorCode::HashMismatch);

    assert_eq!(emma.head_upload(&id).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        emma.head_blob(&sha_hex(&data)).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        emma.head_blob(&sha_hex(&other)).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_nothing_left(&srv).await;

    // The right bytes go through afterwards.
    emma.upload(&data, 1 << 20).await;
}

#[tokio::test]
async fn the_same_blob_is_stored_once() {
    let srv = TestServer::start().await;
    let emma = Uploader::new(&srv, "emma@demo.kvits").await;
    let mark = Uploader::new(&srv, "mark@demo.kvits").await;
    let data = receipt(2);
    let sha = sha_hex(&data);

    // Two people start the same blob at once: each uploads their own copy (holding the
    // bytes is what lets them use the blob), and it is stored once.
    let (a, b) = tokio::join!(emma.start(&data), mark.start(&data));
    assert_ne!(a.0, b.0);
    for (who, id) in [(&emma, &a.0), (&mark, &b.0)] {
        let r = who.send_from(id, &data, 0, 1 << 20).await;
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
    }

    for who in [&emma, &mark] {
        let r = who.post(&sha, data.len() as u64).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.json::<UploadStatus>().await.expect("body").complete);
        assert_eq!(who.head_blob(&sha).await.status(), StatusCode::OK);
    }
    assert_eq!(count(&srv, "SELECT count(*) FROM blobs").await, 1);
    assert_eq!(count(&srv, "SELECT count(*) FROM uploads").await, 0);
    // The image and its thumbnail.
    let files = files_under(&srv.dir.join("blobs"));
    assert_eq!(files.len(), 2, "{files:?}");
    assert!(files.iter().any(|f| f.ends_with(&sha)));
}

#[tokio::test]
async fn a_server_restart_mid_upload_resumes() {
    let srv = TestServer::start().await;
    let token = srv.login("emma@demo.kvits").await;
    let data = receipt(3);
    let half = data.len() / 2;
    let id = {
        let emma = Uploader {
            srv: &srv,
            token: token.clone(),
        };
        let (id, _) = emma.start(&data).await;
        assert_eq!(
            emma.patch(&id, 0, &data[..half]).await.status(),
            StatusCode::NO_CONTENT
        );
        id
    };

    let srv = srv.restart().await;
    let emma = Uploader { srv: &srv, token };
    assert_eq!(emma.offset(&id).await, half as u64);
    let (again, offset) = emma.start(&data).await;
    assert_eq!((again.as_str(), offset), (id.as_str(), half as u64));

    // A chunk written but never acknowledged (crash before the row moved): cut off.
    let part = part_file(&srv, &id);
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&part)
            .expect("part");
        f.write_all(&data[half..half + 1000]).expect("append");
    }
    assert_eq!(emma.offset(&id).await, half as u64);
    assert_eq!(std::fs::metadata(&part).expect("part").len(), half as u64);

    // A file shorter than the row (a lost write): the row follows the file.
    let short = half as u64 - 4096;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&part)
        .expect("part")
        .set_len(short)
        .expect("truncate");
    assert_eq!(emma.offset(&id).await, short);

    let r = emma.send_from(&id, &data, short, 100 * 1024).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let body = emma
        .get(&format!("/v1/blobs/{}", sha_hex(&data)), &[])
        .await;
    assert_eq!(body.bytes().await.expect("bytes").as_ref(), data.as_slice());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_patches_append_once() {
    let srv = TestServer::start().await;
    let emma = Uploader::new(&srv, "emma@demo.kvits").await;
    let data = receipt(4);
    let (id, _) = emma.start(&data).await;
    let chunk = &data[..64 * 1024];
    for _ in 0..3 {
        // A refused PATCH still has its body read, so every client gets its answer (no
        // connection cut under a chunk in flight: `None` would be that).
        let rs: Vec<Option<StatusCode>> =
            futures::future::join_all((0..4).map(|_| emma.try_patch(&id, 0, chunk))).await;
        let ok = rs
            .iter()
            .filter(|r| **r == Some(StatusCode::NO_CONTENT))
            .count();
        let refused = rs
            .iter()
            .filter(|r| **r == Some(StatusCode::CONFLICT))
            .count();
        // Either this round appended once, or an earlier round already had.
        assert!(ok <= 1 && ok + refused == 4, "{rs:?}");
    }
    assert_eq!(emma.offset(&id).await, chunk.len() as u64);
    assert_eq!(
        std::fs::metadata(part_file(&srv, &id)).expect("part").len(),
        chunk.len() as u64
    );
    let r = emma
        .send_from(&id, &data, chunk.len() as u64, 1 << 20)
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn range_requests_and_conditional_gets() {
    let srv = TestServer::start().await;
    let emma = Uploader::new(&srv, "emma@demo.kvits").await;
    let data = receipt(5);
    let len = data.len();
    emma.upload(&data, 1 << 20).await;
    let sha = sha_hex(&data);
    let path = format!("/v1/blobs/{sha}");
    let etag = format!("\"{sha}\"");

    for (range, start, end) in [
        ("bytes=0-99".to_owned(), 0, 100),
        (format!("bytes={}-", len - 10), len - 10, len),
        ("bytes=-50".to_owned(), len - 50, len),
        (format!("bytes=1000-{}", len + 5000), 1000, len),
    ] {
        let r = emma.get(&path, &[("range", &range)]).await;
        assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(
            header(&r, "content-range"),
            Some(format!("bytes {start}-{}/{len}", end - 1).as_str())
        );
        assert_eq!(header(&r, "etag"), Some(etag.as_str()));
        assert_eq!(r.bytes().await.expect("bytes").as_ref(), &data[start..end]);
    }
    for range in [
        format!("bytes={len}-"),
        format!("bytes={}-{}", len + 1, len + 9),
        "bytes=-0".into(),
    ] {
        let r = emma.get(&path, &[("range", &range)]).await;
        assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE, "{range}");
        assert_eq!(
            header(&r, "content-range"),
            Some(format!("bytes */{len}").as_str())
        );
    }
    // Ranges this server does not serve are ignored: the whole blob.
    for range in ["bytes=0-1,5-9", "bytes=9-1", "lines=1-2"] {
        let r = emma.get(&path, &[("range", range)]).await;
        assert_eq!(r.status(), StatusCode::OK, "{range}");
        assert_eq!(r.bytes().await.expect("bytes").len(), len);
    }
    // If-Range with another validator: the whole blob.
    let r = emma
        .get(&path, &[("range", "bytes=0-9"), ("if-range", "\"other\"")])
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = emma
        .get(&path, &[("range", "bytes=0-9"), ("if-range", &etag)])
        .await;
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);

    for inm in [
        etag.clone(),
        format!("W/{etag}"),
        format!("\"x\", {etag}"),
        "*".into(),
    ] {
        let r = emma.get(&path, &[("if-none-match", &inm)]).await;
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED, "{inm}");
        assert_eq!(header(&r, "etag"), Some(etag.as_str()));
        assert!(r.bytes().await.expect("body").is_empty());
    }
    let r = emma
        .get(&path, &[("if-none-match", "\"something-else\"")])
        .await;
    assert_eq!(r.status(), StatusCode::OK);

    // The thumbnail has its own validator and ranges too.
    let thumb = emma.get(&format!("{path}/thumbnail"), &[]).await;
    let thumb_etag = header(&thumb, "etag").expect("etag").to_owned();
    assert_ne!(thumb_etag, etag);
    let thumb = thumb.bytes().await.expect("thumb");
    let r = emma
        .get(&format!("{path}/thumbnail"), &[("range", "bytes=0-1")])
        .await;
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.bytes().await.expect("bytes").as_ref(), &thumb[..2]);
    let r = emma
        .get(
            &format!("{path}/thumbnail"),
            &[("if-none-match", &thumb_etag)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn downloads_need_the_uploader_or_a_visible_row() {
    let srv = TestServer::start().await;
    let emma_up = Uploader::new(&srv, "emma@demo.kvits").await;
    let data = receipt(6);
    let sha = sha_hex(&data);
    emma_up.upload(&data, 1 << 20).await;
    let path = format!("/v1/blobs/{sha}");

    let mark = Uploader::new(&srv, "mark@demo.kvits").await;
    let anna = Uploader::new(&srv, "anna@demo.kvits").await;
    let otto = Uploader::new(&srv, "otto@demo.kvits").await;
    let clara = Uploader::new(&srv, "clara@demo.kvits").await;

    // Nothing names the blob yet: only the uploader may read it.
    assert_eq!(emma_up.get(&path, &[]).await.status(), StatusCode::OK);
    for who in [&mark, &anna, &otto, &clara] {
        let r = who.get(&path, &[]).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert_eq!(error_body(r).await.code, ErrorCode::NotFound);
        assert_eq!(
            who.get(&format!("{path}/thumbnail"), &[]).await.status(),
            StatusCode::NOT_FOUND
        );
        // Knowing the hash is not holding the bytes: HEAD says nothing either.
        assert_eq!(who.head_blob(&sha).await.status(), StatusCode::NOT_FOUND);
    }

    // Emma's draft expense in Birch Bakery names it.
    let mut emma = srv.device("emma@demo.kvits").await;
    let expense = ExpenseId(uuid::Uuid::now_v7());
    let info = kvits_imaging::probe(&data).expect("image");
    let created = emma
        .run(Mutation::CreateExpense {
            expense_id: expense,
            company_id: srv.demo.company("Birch Bakery"),
            document_type: DocumentType::Receipt,
            fields: ExpenseFields::default(),
        })
        .await;
    assert_eq!(created.outcome, Outcome::Applied, "{created:?}");
    let attached = emma
        .run(Mutation::AttachReceipt {
            expense_id: expense,
            pages: vec![ReceiptPage {
                sha256: sha.clone(),
                size: data.len() as u64,
                content_type: "image/jpeg".into(),
                width: info.width,
                height: info.height,
            }],
        })
        .await;
    assert_eq!(attached.outcome, Outcome::Applied, "{attached:?}");

    // A draft is its author's business.
    for who in [&anna, &clara, &mark, &otto] {
        assert_eq!(who.get(&path, &[]).await.status(), StatusCode::NOT_FOUND);
    }

    let fields = birch_fields(&srv, 1250, "Bakery supplies");
    let set = emma
        .run(Mutation::SetExpenseFields {
            expense_id: expense,
            fields,
        })
        .await;
    assert_eq!(set.outcome, Outcome::Applied, "{set:?}");
    let submitted = emma
        .run(Mutation::SubmitExpense {
            expense_id: expense,
        })
        .await;
    assert_eq!(submitted.outcome, Outcome::Applied, "{submitted:?}");

    // Once submitted, those who may see the expense may read its photo; others still may not.
    for who in [&anna, &clara] {
        let r = who.get(&path, &[]).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(sha_hex(&r.bytes().await.expect("bytes")), sha);
        assert_eq!(
            who.get(&format!("{path}/thumbnail"), &[]).await.status(),
            StatusCode::OK
        );
    }
    // Otto works for another company of the firm.
    assert_eq!(otto.get(&path, &[]).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        otto.get(&format!("{path}/thumbnail"), &[]).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn another_firm_sees_nothing() {
    let srv = TestServer::start().await;
    let emma = Uploader::new(&srv, "emma@demo.kvits").await;
    let data = receipt(7);
    let sha = sha_hex(&data);
    emma.upload(&data, 1 << 20).await;
    let other = receipt(8);
    let (pending, _) = emma.start(&other).await;
    assert_eq!(
        emma.patch(&pending, 0, &other[..100]).await.status(),
        StatusCode::NO_CONTENT
    );

    srv.server
        .state()
        .db
        .write(|c| {
            let firm = kvits_sync_server::admin::create_firm(c, "Other Accounting")?;
            let hash = kvits_sync_server::auth::hash_password("demo")?;
            kvits_sync_server::admin::create_user(
                c,
                firm,
                "zed@other.kvits",
                "Zed",
                Some(&hash),
                Some(kvits_protocol::StaffRole::FirmAdmin),
            )?;
            Ok(())
        })
        .await
        .expect("other firm");
    let zed = Uploader::new(&srv, "zed@other.kvits").await;

    let r = zed.head_upload(&pending).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(header(&r, UPLOAD_OFFSET).is_none());
    let r = zed.patch(&pending, 100, &other[100..200]).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = zed.patch(&pending, 0, &other[..100]).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(emma.offset(&pending).await, 100);

    assert_eq!(zed.head_blob(&sha).await.status(), StatusCode::NOT_FOUND);
    for path in [
        format!("/v1/blobs/{sha}"),
        format!("/v1/blobs/{sha}/thumbnail"),
    ] {
        let r = zed.get(&path, &[]).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(error_body(r).await.code, ErrorCode::NotFound);
    }
    // Its own upload of the same bytes is its own: a new upload, not the other firm's blob.
    let r = zed.post(&sha, data.len() as u64).await;
    assert_eq!(r.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn bad_images_are_422_and_leave_nothing() {
    let srv = TestServer::start().await;
    let emma = Uploader::new(&srv, "emma@demo.kvits").await;
    let jpeg = receipt(0);
    let truncated = jpeg[..jpeg.len() * 3 / 5].to_vec();
    let text = b"Total 12,50 EUR\nThank you for shopping\n".repeat(50);
    let mut pdf = b"%PDF-1.7\n".to_vec();
    pdf.extend_from_slice(&[0u8; 2000]);
    let bomb = png_claiming(65_000, 65_000);

    for (what, data, code) in [
        ("text", text, ErrorCode::InvalidImage),
        ("pdf cut short", pdf, ErrorCode::InvalidDocument),
        ("truncated jpeg", truncated, ErrorCode::InvalidImage),
        ("png bomb", bomb, ErrorCode::InvalidImage),
    ] {
        let (id, _) = emma.start(&data).await;
        let r = emma.send_from(&id, &data, 0, 1 << 20).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{what}");
        let err = error_body(r).await;
        assert_eq!(err.code, code, "{what}");
        assert!(!err.message.is_empty());
        assert_eq!(
            emma.head_upload(&id).await.status(),
            StatusCode::NOT_FOUND,
            "{what}"
        );
        assert_eq!(
            emma.head_blob(&sha_hex(&data)).await.status(),
            StatusCode::NOT_FOUND
        );
        assert_nothing_left(&srv).await;
    }
}

#[tokio::test]
async fn bad_upload_requests_are_4xx() {
    let srv = TestServer::start().await;
    let emma = Uploader::new(&srv, "emma@demo.kvits").await;
    let sha = sha_hex(b"x");
    assert_eq!(emma.post(&sha, 0).await.status(), StatusCode::BAD_REQUEST);
    let r = emma.post(&sha, MAX_BLOB_BYTES + 1).await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_body(r).await.code, ErrorCode::TooLarge);
    assert_eq!(
        emma.post(&sha.to_uppercase(), 10).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        emma.post("../../etc/passwd", 10).await.status(),
        StatusCode::BAD_REQUEST
    );
    for length in ["", "-1", "1e3", "ten"] {
        let r = emma
            .req(reqwest::Method::POST, "/v1/uploads")
            .header(UPLOAD_LENGTH, length)
            .header(UPLOAD_SHA256, &sha)
            .send()
            .await
            .expect("post");
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{length:?}");
    }
    let r = emma
        .req(reqwest::Method::POST, "/v1/uploads")
        .header(UPLOAD_SHA256, &sha)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // No token.
    let r = srv
        .http
        .post(srv.url("/v1/uploads"))
        .header(UPLOAD_LENGTH, "10")
        .header(UPLOAD_SHA256, &sha)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = srv
        .http
        .get(srv.url(&format!("/v1/blobs/{sha}")))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_nothing_left(&srv).await;
}

#[tokio::test]
async fn path_tricks_are_404() {
    let srv = TestServer::start().await;
    let emma = Uploader::new(&srv, "emma@demo.kvits").await;
    // Something to find if a path escaped.
    std::fs::write(srv.dir.join("secret.txt"), b"secret").expect("write");
    let upper = "A".repeat(64);
    for tail in [
        "..%2F..%2Fsecret.txt",
        "%2e%2e%2fsecret.txt",
        "..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        "..",
        "%2e%2e",
        upper.as_str(),
        "0123",
    ] {
        let blob = format!("/v1/blobs/{tail}");
        assert_eq!(
            emma.get(&blob, &[]).await.status(),
            StatusCode::NOT_FOUND,
            "{blob}"
        );
        let thumb = format!("{blob}/thumbnail");
        assert_eq!(
            emma.get(&thumb, &[]).await.status(),
            StatusCode::NOT_FOUND,
            "{thumb}"
        );
        let r = emma
            .req(reqwest::Method::HEAD, &blob)
            .send()
            .await
            .expect("head");
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{blob}");
        let r = emma.head_upload(tail).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{tail}");
        let r = emma.patch(tail, 0, b"data").await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{tail}");
    }
    // An unknown but well-formed upload id.
    let unknown = uuid::Uuid::now_v7().to_string();
    assert_eq!(
        emma.head_upload(&unknown).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        emma.patch(&unknown, 0, b"data").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_nothing_left(&srv).await;
    assert_eq!(
        std::fs::read(srv.dir.join("secret.txt")).expect("kept"),
        b"secret"
    );
}

/// `serve` runs the sweep by itself (the first time a second after it starts): with a 50 ms TTL
/// a partial upload left alone is gone within a few seconds, and nobody called `sweep_once`.
#[tokio::test]
async fn serving_sweeps_stale_partials_by_itself() {
    let srv = TestServer::start_with(|c| c.upload_ttl = Duration::from_millis(50)).await;
    let emma = Uploader::new(&srv, "emma@demo.kvits").await;
    let data = receipt(3);
    let (id, _) = emma.start(&data).await;
    assert_eq!(
        emma.patch(&id, 0, &data[..1000]).await.status(),
        StatusCode::NO_CONTENT
    );
    assert!(part_file(&srv, &id).exists());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while emma.head_upload(&id).await.status() != StatusCode::NOT_FOUND {
        assert!(
            std::time::Instant::now() < deadline,
            "the partial upload was still there after 10 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!part_file(&srv, &id).exists());
    assert_eq!(count(&srv, "SELECT count(*) FROM uploads").await, 0);
}

#[tokio::test]
async fn the_sweep_removes_stale_partials() {
    let srv = TestServer::start().await;
    let emma = Uploader::new(&srv, "emma@demo.kvits").await;
    let data = receipt(1);
    let (id, _) = emma.start(&data).await;
    assert_eq!(
        emma.patch(&id, 0, &data[..1000]).await.status(),
        StatusCode::NO_CONTENT
    );
    let (fresh_id, _) = emma.start(&receipt(2)).await;
    // A partial file a crash left without a row, and a file the sweep must not touch.
    let orphan = srv
        .dir
        .join("uploads")
        .join(format!("{}.part", uuid::Uuid::now_v7()));
    std::fs::write(&orphan, b"left over").expect("orphan");
    let keep = srv.dir.join("uploads").join("README");
    std::fs::write(&keep, b"not ours").expect("keep");

    // Within the TTL (24 h by default) nothing goes.
    let state = srv.server.state().clone();
    assert_eq!(
        kvits_sync_server::uploads::sweep_once(&state)
            .await
            .expect("sweep"),
        0
    );
    assert_eq!(emma.offset(&id).await, 1000);
    assert!(orphan.exists());

    // With a tiny TTL everything untouched for longer goes.
    let mut config = (*state.config).clone();
    config.upload_ttl = Duration::from_millis(50);
    let short = kvits_sync_server::AppState {
        config: Arc::new(config),
        ..state
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        kvits_sync_server::uploads::sweep_once(&short)
            .await
            .expect("sweep"),
        2
    );
    for id in [&id, &fresh_id] {
        assert_eq!(emma.head_upload(id).await.status(), StatusCode::NOT_FOUND);
        assert!(!part_file(&srv, id).exists());
    }
    assert!(!orphan.exists());
    assert!(keep.exists());
    assert_eq!(count(&srv, "SELECT count(*) FROM uploads").await, 0);

    // Starting over works.
    let (again, offset) = emma.start(&data).await;
    assert_ne!(again, id);
    assert_eq!(offset, 0);
}

/// The accountant sends a statement as a PDF: it is stored as `application/pdf` (no thumbnail),
/// reaches the recipients' clients with the message and downloads whole; it must be declared as
/// what it is; and a PDF is not a receipt photo, so a receipt naming one cannot be submitted.
#[tokio::test]
async fn a_pdf_statement_travels_with_a_message_but_is_no_receipt_page() {
    let srv = TestServer::start().await;
    let anna_up = Uploader::new(&srv, "anna@demo.kvits").await;
    let pdf = kvits_testkit::pdf::one_page("Statement for November: 3 receipts, 212.40 EUR");
    let sha = sha_hex(&pdf);
    anna_up.upload(&pdf, 200).await;
    let path = format!("/v1/blobs/{sha}");
    let r = anna_up.get(&path, &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "content-type"), Some("application/pdf"));
    assert_eq!(r.bytes().await.expect("bytes").as_ref(), pdf.as_slice());
    let r = anna_up.get(&format!("{path}/thumbnail"), &[]).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_body(r).await.code, ErrorCode::NotFound);

    let birch = srv.demo.company("Birch Bakery");
    let mut anna = srv.device("anna@demo.kvits").await;
    let send = |declared: &str| Mutation::SendMessage {
        message_id: kvits_protocol::MessageId(uuid::Uuid::now_v7()),
        company_ids: vec![birch],
        subject: "November".into(),
        body: "Your statement is attached.".into(),
        attachment: Some(kvits_protocol::Attachment {
            sha256: sha.clone(),
            size: pdf.len() as u64,
            content_type: declared.into(),
            file_name: "statement-2026-11.pdf".into(),
        }),
    };
    // A PDF declared as a photo is refused, and so is a type that is neither.
    for declared in ["image/jpeg", "application/zip"] {
        let r = anna.run(send(declared)).await;
        assert!(
            matches!(r.outcome, Outcome::Rejected { .. }),
            "{declared}: {r:?}"
        );
    }
    let sent = anna.run(send("application/pdf")).await;
    assert_eq!(sent.outcome, Outcome::Applied, "{sent:?}");

    // Clara (a client of Birch) gets the message with its attachment and can download it;
    // Otto (Cedar) cannot.
    let mut clara = srv.device("clara@demo.kvits").await;
    let attachments: Vec<_> = clara
        .pull_all()
        .await
        .into_iter()
        .filter_map(|c| match c.op {
            kvits_protocol::ChangeOp::Upsert { entity } => match *entity {
                kvits_protocol::Entity::Message(m) => m.attachment,
                _ => None,
            },
            kvits_protocol::ChangeOp::Delete { .. } => None,
        })
        .collect();
    assert_eq!(attachments.len(), 1, "{attachments:?}");
    assert_eq!(attachments[0].content_type, "application/pdf");
    let r = clara.get(&path).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(sha_hex(&r.bytes().await.expect("bytes")), sha);
    let otto = srv.device("otto@demo.kvits").await;
    assert_eq!(otto.get(&path).await.status(), StatusCode::NOT_FOUND);

    // Emma uploads an invoice PDF as a receipt page: the draft may hold it, submitting refuses.
    let emma_up = Uploader::new(&srv, "emma@demo.kvits").await;
    let invoice = kvits_testkit::pdf::one_page("Invoice 2026-118: 48.00 EUR");
    emma_up.upload(&invoice, 1 << 20).await;
    let mut emma = srv.device("emma@demo.kvits").await;
    let expense = ExpenseId(uuid::Uuid::now_v7());
    let fields = birch_fields(&srv, 4800, "Office supplies");
    for m in [
        Mutation::CreateExpense {
            expense_id: expense,
            company_id: birch,
            document_type: DocumentType::Invoice,
            fields,
        },
        Mutation::AttachReceipt {
            expense_id: expense,
            pages: vec![ReceiptPage {
                sha256: sha_hex(&invoice),
                size: invoice.len() as u64,
                content_type: "image/jpeg".into(),
                width: 1000,
                height: 1400,
            }],
        },
    ] {
        let r = emma.run(m).await;
        assert_eq!(r.outcome, Outcome::Applied, "{r:?}");
    }
    let r = emma
        .run(Mutation::SubmitExpense {
            expense_id: expense,
        })
        .await;
    let Outcome::Rejected { message, .. } = &r.outcome else {
        panic!("submitting a PDF page: {r:?}");
    };
    assert!(
        message.contains("page 1") && message.contains("not a photo"),
        "{message}"
    );
}
