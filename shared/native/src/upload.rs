//! The core's `Upload` effect: one receipt photo to the sync server, resumably, with progress.
//!
//! The wire contract is `kvits_protocol::upload` (tus 1.0-like). One call:
//!
//! 1. checks the local file: it exists (else [`UploadErrorKind::FileMissing`]), has the stated
//!    size and hashes to the stated SHA-256 (else [`UploadErrorKind::Refused`], "the photo file
//!    changed"); the hash is computed incrementally, never with the whole file in memory;
//! 2. `POST /v1/uploads` with `upload-length` and `upload-sha256`: the server answers that this
//!    user already holds the blob (`complete`: done at once, nothing sent), or the id and offset
//!    of this user's upload of it — a new one, or the one a killed app left half-way, which is
//!    how an upload survives a restart: the next call simply continues from the server's offset;
//! 3. `PATCH /v1/uploads/{id}` chunk by chunk (read from the file by range, one chunk in memory
//!    at a time), each with `upload-offset`, `upload-checksum: sha256 <base64>` and
//!    `content-type: application/offset+octet-stream`. A 204 carries the new offset; a 409 the
//!    right one (continue there); a 460 means the chunk was damaged on the way (sent again a few
//!    times, then [`UploadErrorKind::Transient`]); a 404 means the upload went away (swept, or
//!    finished by another call) and the call starts over at step 2. The answer to the last chunk
//!    comes after the server checked the whole file and stored the blob.
//!
//! `POST` is also the "already stored?" question: `HEAD /v1/blobs/{sha}` answers 200 for any
//! blob the user may *read* (e.g. a colleague's photo on a row they see), but the server accepts
//! a receipt page only when its author uploaded the bytes themselves, and `POST` answers
//! `complete` exactly then. So `HEAD /v1/blobs` is not asked: it would cost a round trip and
//! could say "done" when the server would still halt the submit for the missing photo.
//!
//! Errors: no connection, a timeout, 5xx, 408, 429 → `Transient` (with the server's message);
//! 401 → `Unauthorized`; 404/405 from `POST` (no upload endpoint at that address) and 426 (the
//! app must be updated) → `Transient` too, since the photo itself is fine and `Refused` makes
//! the core give it up; any other 4xx (400, 413, 422 for a file that is not an image or does
//! not hash right, ...) → `Refused` with the server's `{code, message}` message. Nothing here
//! panics on any answer.
//!
//! `UploadRequest::content_type` is not sent: the server sniffs the bytes and stores the type
//! it finds.

use std::io::{ErrorKind, Read};
use std::path::Path;
use std::time::Duration;

use base64::Engine;
use kvits_protocol::{
    CHECKSUM_MISMATCH_STATUS, ErrorBody, MAX_BLOB_BYTES, MAX_CHUNK_BYTES, OFFSET_CONTENT_TYPE,
    PROTOCOL_HEADER, PROTOCOL_VERSION, UPLOAD_CHECKSUM, UPLOAD_LENGTH, UPLOAD_OFFSET,
    UPLOAD_SHA256, UploadStatus, is_sha256_hex,
};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use sha2::{Digest, Sha256};
use shared::effects::{UploadError, UploadErrorKind, UploadRequest, UploadUpdate};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// Bytes per `PATCH`: a processed receipt (≈ 100–600 KB) goes in one to three requests, and a
/// cut connection costs at most this much again.
pub const DEFAULT_CHUNK_SIZE: usize = 256 * 1024;

/// Time allowed for one chunk's request and answer (≥ 2 KB/s at the default chunk size).
pub const DEFAULT_CHUNK_TIMEOUT: Duration = Duration::from_secs(120);

/// How many times one chunk is sent while the server finds it damaged on the way (460).
pub const CHECKSUM_ATTEMPTS: u32 = 3;

/// Answers in a row that do not move the upload forward (409s, 460s) before giving up.
const MAX_STALLS: u32 = 8;

/// How often one call starts over because its upload went away (404).
const MAX_RESTARTS: u32 = 3;

/// Most bytes of an error answer read to find its message.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Most bytes of a `POST /v1/uploads` answer read.
const MAX_STATUS_BODY: usize = 16 * 1024;

/// Block size of the local hash.
const HASH_BLOCK: usize = 64 * 1024;

/// How an upload is sent; [`Default`] is what [`upload`] uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadOptions {
    /// Bytes per `PATCH` (clamped to 1..=[`MAX_CHUNK_BYTES`]).
    pub chunk_size: usize,
    /// Stop (with a `Transient` failure) after sending this many `PATCH` requests — a cut
    /// connection on demand, for tests. `None`: no limit.
    pub max_chunks: Option<usize>,
    /// Timeout of each `PATCH`, overriding the client's own.
    pub chunk_timeout: Duration,
}

impl Default for UploadOptions {
    fn default() -> Self {
        UploadOptions {
            chunk_size: DEFAULT_CHUNK_SIZE,
            max_chunks: None,
            chunk_timeout: DEFAULT_CHUNK_TIMEOUT,
        }
    }
}

/// Uploads `request.file_ref` (a file path) to `request.server_url`, calling
/// `progress(sent, total)` whenever the server acknowledges bytes: first with the offset it
/// starts from (above 0 when an earlier call got that far), then after each chunk, last with
/// `total` — or only `(total, total)` when the user already holds the blob. Answers the final
/// update: [`UploadUpdate::Done`] or [`UploadUpdate::Failed`]; it never panics.
pub async fn upload(
    client: &reqwest::Client,
    request: &UploadRequest,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> UploadUpdate {
    upload_with(client, request, &UploadOptions::default(), progress).await
}

/// [`upload`] with explicit [`UploadOptions`].
pub async fn upload_with(
    client: &reqwest::Client,
    request: &UploadRequest,
    options: &UploadOptions,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> UploadUpdate {
    let mut upload = Upload {
        client,
        request,
        options,
        base: request.server_url.trim_end_matches('/'),
        chunk_size: options.chunk_size.clamp(1, MAX_CHUNK_BYTES as usize) as u64,
        patches: 0,
    };
    match upload.run(progress).await {
        Ok(()) => UploadUpdate::Done,
        Err(e) => UploadUpdate::Failed(e),
    }
}

// ---------------------------------------------------------------------------------------------
// Errors

fn error(kind: UploadErrorKind, message: impl Into<String>) -> UploadError {
    UploadError {
        kind,
        message: message.into(),
    }
}

fn transient(message: impl Into<String>) -> UploadError {
    error(UploadErrorKind::Transient, message)
}

fn refused(message: impl Into<String>) -> UploadError {
    error(UploadErrorKind::Refused, message)
}

/// A request that got no (complete) answer.
fn network(e: &reqwest::Error) -> UploadError {
    let what = if e.is_timeout() {
        "the server did not answer in time"
    } else if e.is_connect() {
        "could not reach the server"
    } else if e.is_builder() {
        "the upload request could not be made"
    } else {
        "the connection to the server failed"
    };
    // reqwest's own text is terse ("error sending request"); the cause says what happened.
    let mut message = format!("{what}: {e}");
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    transient(message)
}

/// An answer the protocol does not expect at this step.
async fn refusal(response: Response) -> UploadError {
    let status = response.status();
    let code = status.as_u16();
    let said = server_message(response).await;
    let with_said = |prefix: String| match &said {
        Some(m) => format!("{prefix}: {m}"),
        None => prefix,
    };
    match code {
        401 => error(
            UploadErrorKind::Unauthorized,
            said.unwrap_or_else(|| "sign in again".to_owned()),
        ),
        // The photo is not at fault, so it must not be given up: no upload endpoint here (a
        // wrong address, a captive portal), a slow request, too many requests, an app update.
        404 | 405 | 408 | 425 | 426 | 429 => {
            transient(with_said(format!("the server said {status}")))
        }
        400..=499 => refused(said.unwrap_or_else(|| format!("the server refused it ({status})"))),
        500..=599 => transient(with_said(format!("the server failed ({status})"))),
        _ => transient(with_said(format!(
            "unexpected answer from the server ({status})"
        ))),
    }
}

/// The `message` of a `{code, message}` body, or a short plain-text body.
async fn server_message(response: Response) -> Option<String> {
    let body = read_limited(response, MAX_ERROR_BODY).await.ok()?;
    if let Ok(error) = serde_json::from_slice::<ErrorBody>(&body) {
        return Some(error.message);
    }
    let text = std::str::from_utf8(&body).ok()?.trim();
    if text.is_empty() || text.starts_with('<') {
        return None; // nothing, or a proxy's HTML page
    }
    Some(text.chars().take(200).collect())
}

/// At most `limit` bytes of a body (the rest is not read).
async fn read_limited(mut response: Response, limit: usize) -> Result<Vec<u8>, reqwest::Error> {
    let mut out = Vec::new();
    while out.len() < limit {
        let Some(piece) = response.chunk().await? else {
            break;
        };
        let room = limit - out.len();
        out.extend_from_slice(&piece[..piece.len().min(room)]);
    }
    Ok(out)
}

fn header_u64(response: &Response, name: &str) -> Option<u64> {
    response
        .headers()
        .get(name)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

// ---------------------------------------------------------------------------------------------
// The local file

/// Opens the photo and checks it is the one the core described: `size` bytes hashing to
/// `sha256`. Hashes in blocks on a blocking thread.
async fn open_checked(path: &str, size: u64, sha256: &str) -> Result<tokio::fs::File, UploadError> {
    let (path, sha256) = (path.to_owned(), sha256.to_owned());
    let opened = tokio::task::spawn_blocking(move || check_file(Path::new(&path), size, &sha256))
        .await
        .map_err(|e| transient(format!("the photo file could not be checked: {e}")))??;
    Ok(tokio::fs::File::from_std(opened))
}

fn check_file(path: &Path, size: u64, sha256: &str) -> Result<std::fs::File, UploadError> {
    let unreadable = |e: std::io::Error| match e.kind() {
        ErrorKind::NotFound | ErrorKind::PermissionDenied | ErrorKind::IsADirectory => error(
            UploadErrorKind::FileMissing,
            format!("the photo file {} is gone ({e})", path.display()),
        ),
        _ => transient(format!(
            "the photo file {} could not be read: {e}",
            path.display()
        )),
    };
    let mut file = std::fs::File::open(path).map_err(unreadable)?;
    let meta = file.metadata().map_err(unreadable)?;
    if !meta.is_file() {
        return Err(error(
            UploadErrorKind::FileMissing,
            format!("the photo file {} is gone (not a file)", path.display()),
        ));
    }
    if meta.len() != size {
        return Err(refused(format!(
            "the photo file changed (it has {} bytes, {size} were expected)",
            meta.len()
        )));
    }
    let mut hasher = Sha256::new();
    let mut block = vec![0u8; HASH_BLOCK];
    let mut read = 0u64;
    loop {
        let n = match file.read(&mut block) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(unreadable(e)),
        };
        hasher.update(&block[..n]);
        read += n as u64;
    }
    if read != size || hex::encode(hasher.finalize()) != sha256 {
        return Err(refused(
            "the photo file changed (its content is not the one taken)",
        ));
    }
    Ok(file)
}

/// Bytes `offset..offset + len` of the file.
async fn read_range(
    file: &mut tokio::fs::File,
    offset: u64,
    len: u64,
) -> Result<Vec<u8>, UploadError> {
    let failed = |e: std::io::Error| {
        if e.kind() == ErrorKind::UnexpectedEof {
            refused("the photo file changed (it became shorter during the upload)")
        } else {
            transient(format!("the photo file could not be read: {e}"))
        }
    };
    let len = usize::try_from(len).map_err(|_| transient("the chunk is too large"))?;
    file.seek(std::io::SeekFrom::Start(offset))
        .await
        .map_err(failed)?;
    let mut chunk = vec![0u8; len];
    file.read_exact(&mut chunk).await.map_err(failed)?;
    Ok(chunk)
}

// ---------------------------------------------------------------------------------------------
// The protocol

struct Upload<'a> {
    client: &'a reqwest::Client,
    request: &'a UploadRequest,
    options: &'a UploadOptions,
    /// `server_url` without a trailing slash.
    base: &'a str,
    chunk_size: u64,
    /// `PATCH` requests sent by this call.
    patches: usize,
}

/// What `POST /v1/uploads` found.
enum Start {
    /// This user already holds the blob.
    Stored,
    /// Continue upload `id` at `offset`.
    At { id: String, offset: u64 },
}

/// How sending chunks ended, short of an error.
enum Sent {
    Stored,
    /// The upload is gone (404): start over.
    Vanished,
}

impl Upload<'_> {
    async fn run(
        &mut self,
        progress: &mut (dyn FnMut(u64, u64) + Send),
    ) -> Result<(), UploadError> {
        let (size, sha256) = (self.request.size, self.request.sha256.as_str());
        if reqwest::Url::parse(self.base).is_err() {
            return Err(transient(format!(
                "the server address {:?} is not a URL",
                self.request.server_url
            )));
        }
        if !is_sha256_hex(sha256) {
            return Err(refused(format!(
                "the photo's SHA-256 {sha256:?} is not lower-case hex"
            )));
        }
        if size == 0 {
            return Err(refused("the photo file is empty"));
        }
        if size > MAX_BLOB_BYTES {
            return Err(refused(format!(
                "the photo is {size} bytes; the server takes at most {MAX_BLOB_BYTES}"
            )));
        }
        if HeaderValue::from_str(&format!("Bearer {}", self.request.token)).is_err() {
            return Err(error(
                UploadErrorKind::Unauthorized,
                "the session token is not valid; sign in again",
            ));
        }
        let mut file = open_checked(&self.request.file_ref, size, sha256).await?;

        for _ in 0..=MAX_RESTARTS {
            let (id, offset) = match self.start().await? {
                Start::Stored => {
                    progress(size, size);
                    return Ok(());
                }
                Start::At { id, offset } => (id, offset),
            };
            progress(offset, size);
            match self.send(&mut file, &id, offset, progress).await? {
                Sent::Stored => return Ok(()),
                Sent::Vanished => continue,
            }
        }
        Err(transient(
            "the server kept losing this upload; it will be tried again",
        ))
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request with the token and the protocol version.
    fn req(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, self.url(path))
            .header(AUTHORIZATION, format!("Bearer {}", self.request.token))
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
    }

    /// `POST /v1/uploads`: stored already, or where to continue.
    async fn start(&self) -> Result<Start, UploadError> {
        let (size, sha256) = (self.request.size, &self.request.sha256);
        let response = self
            .req(Method::POST, "/v1/uploads")
            .header(UPLOAD_LENGTH, size.to_string())
            .header(UPLOAD_SHA256, sha256.as_str())
            .send()
            .await
            .map_err(|e| network(&e))?;
        if !matches!(response.status(), StatusCode::OK | StatusCode::CREATED) {
            return Err(refusal(response).await);
        }
        let body = read_limited(response, MAX_STATUS_BODY)
            .await
            .map_err(|e| network(&e))?;
        let status: UploadStatus = serde_json::from_slice(&body).map_err(|e| {
            transient(format!(
                "the server's answer to starting the upload is not understood: {e}"
            ))
        })?;
        if status.complete {
            return Ok(Start::Stored);
        }
        if status.length != size || status.offset >= size {
            return Err(transient(format!(
                "the server describes the upload as {} of {} bytes; the photo has {size}",
                status.offset, status.length
            )));
        }
        Ok(Start::At {
            id: status.upload_id.to_string(),
            offset: status.offset,
        })
    }

    /// `HEAD /v1/uploads/{id}`: the offset, or `None` if the upload is gone.
    async fn offset_of(&self, id: &str) -> Result<Option<u64>, UploadError> {
        let response = self
            .req(Method::HEAD, &format!("/v1/uploads/{id}"))
            .send()
            .await
            .map_err(|e| network(&e))?;
        match response.status() {
            StatusCode::OK => header_u64(&response, UPLOAD_OFFSET)
                .map(Some)
                .ok_or_else(|| transient("the server did not say where the upload stands")),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(refusal(response).await),
        }
    }

    /// `PATCH`es chunks from `offset` until the server has stored the blob.
    async fn send(
        &mut self,
        file: &mut tokio::fs::File,
        id: &str,
        mut offset: u64,
        progress: &mut (dyn FnMut(u64, u64) + Send),
    ) -> Result<Sent, UploadError> {
        let size = self.request.size;
        let path = format!("/v1/uploads/{id}");
        // The furthest the server has acknowledged, and the answers since that did not move it.
        let (mut best, mut stalls, mut damaged) = (offset, 0u32, 0u32);
        loop {
            if offset >= size {
                return Err(transient(format!(
                    "the server holds all {size} bytes of the upload but has not stored it"
                )));
            }
            if let Some(max) = self.options.max_chunks
                && self.patches >= max
            {
                return Err(transient(format!(
                    "stopped after {max} chunk(s), at byte {offset} of {size}"
                )));
            }
            let len = self.chunk_size.min(size - offset);
            let chunk = read_range(file, offset, len).await?;
            let checksum = format!(
                "sha256 {}",
                base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&chunk))
            );
            self.patches += 1;
            let response = self
                .req(Method::PATCH, &path)
                .timeout(self.options.chunk_timeout)
                .header(CONTENT_TYPE, OFFSET_CONTENT_TYPE)
                .header(UPLOAD_OFFSET, offset.to_string())
                .header(UPLOAD_CHECKSUM, checksum)
                .body(chunk)
                .send()
                .await
                .map_err(|e| network(&e))?;
            let status = response.status();
            let stated = header_u64(&response, UPLOAD_OFFSET);
            match status.as_u16() {
                200 | 204 => {
                    let end = offset + len;
                    offset = match stated {
                        Some(o) if o <= size => o,
                        Some(o) => {
                            return Err(transient(format!(
                                "the server acknowledged byte {o} of a {size}-byte photo"
                            )));
                        }
                        None => end,
                    };
                    damaged = 0;
                    progress(offset, size);
                    if offset == size {
                        return Ok(Sent::Stored);
                    }
                }
                409 => {
                    // Someone (an earlier, cut call) got elsewhere: continue where the server is.
                    let right = match stated {
                        Some(o) => o,
                        None => match offset_of_body(response).await {
                            Some(o) => o,
                            None => match self.offset_of(id).await? {
                                Some(o) => o,
                                None => return Ok(Sent::Vanished),
                            },
                        },
                    };
                    if right > size {
                        return Err(transient(format!(
                            "the server expects byte {right} of a {size}-byte photo"
                        )));
                    }
                    offset = right;
                    progress(offset, size);
                }
                CHECKSUM_MISMATCH_STATUS => {
                    damaged += 1;
                    if damaged >= CHECKSUM_ATTEMPTS {
                        return Err(transient(format!(
                            "a chunk arrived damaged {damaged} times in a row (a bad network?)"
                        )));
                    }
                    if let Some(o) = stated.filter(|&o| o != offset && o < size) {
                        offset = o;
                        progress(offset, size);
                    }
                }
                404 => return Ok(Sent::Vanished),
                _ => return Err(refusal(response).await),
            }
            if offset > best {
                (best, stalls) = (offset, 0);
            } else {
                stalls += 1;
                if stalls >= MAX_STALLS {
                    return Err(transient(format!(
                        "the upload made no progress in {stalls} tries, at byte {offset}"
                    )));
                }
            }
        }
    }
}

/// `details.offset` of a 409 body.
async fn offset_of_body(response: Response) -> Option<u64> {
    let body = read_limited(response, MAX_ERROR_BODY).await.ok()?;
    serde_json::from_slice::<ErrorBody>(&body)
        .ok()?
        .details?
        .get("offset")?
        .as_u64()
}
