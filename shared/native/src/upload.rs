//! The core's `Upload` effect: one receipt photo to the sync server, resumably, with progress.
//!
//! The protocol — which request comes next, what each answer means, how the local file is
//! checked and how failures map onto the core's `UploadErrorKind` — is `kvits_upload::Upload`,
//! a state machine without I/O that the web shell drives too (read its crate documentation for
//! the protocol). This module is only its transport on the phone: reqwest for the requests
//! (each `PATCH` with its own timeout), `std::fs` for the file (hashed in blocks on a blocking
//! thread, then read by range, one chunk in memory at a time).
//!
//! `UploadRequest::content_type` is not sent: the server sniffs the bytes and stores the type
//! it finds.

use std::io::{ErrorKind, Read};
use std::path::Path;
use std::time::Duration;

use kvits_protocol::UPLOAD_OFFSET;
use kvits_upload::{Answer, FailureKind, MAX_ANSWER_BODY, Misuse, Params, Request, Step};
use reqwest::{Method, Response};
use shared::effects::{UploadError, UploadErrorKind, UploadRequest, UploadUpdate};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

pub use kvits_upload::CHECKSUM_ATTEMPTS;

/// Bytes per `PATCH` (see `kvits_upload::DEFAULT_CHUNK_SIZE`).
pub const DEFAULT_CHUNK_SIZE: usize = kvits_upload::DEFAULT_CHUNK_SIZE as usize;

/// Time allowed for one chunk's request and answer (≥ 2 KB/s at the default chunk size).
pub const DEFAULT_CHUNK_TIMEOUT: Duration = Duration::from_secs(120);

/// Block size of the local hash.
const HASH_BLOCK: usize = 64 * 1024;

/// How an upload is sent; [`Default`] is what [`upload`] uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadOptions {
    /// Bytes per `PATCH` (clamped to 1..=[`kvits_protocol::MAX_CHUNK_BYTES`]).
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
    let machine = kvits_upload::Upload::new(
        Params {
            server_url: request.server_url.clone(),
            token: request.token.clone(),
            sha256: request.sha256.clone(),
            size: request.size,
        },
        kvits_upload::Options {
            chunk_size: options.chunk_size as u64,
            max_chunks: options.max_chunks.map(|n| n as u64),
        },
    );
    match drive(machine, client, request, options, progress).await {
        Ok(update) => update,
        Err(misuse) => UploadUpdate::Failed(UploadError {
            kind: UploadErrorKind::Transient,
            message: format!("the upload went wrong: {misuse}"),
        }),
    }
}

/// Does what the machine asks until it ends.
async fn drive(
    mut machine: kvits_upload::Upload,
    client: &reqwest::Client,
    request: &UploadRequest,
    options: &UploadOptions,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<UploadUpdate, Misuse> {
    let mut file: Option<tokio::fs::File> = None;
    let mut chunk: Vec<u8> = Vec::new();
    loop {
        match machine.next_step() {
            Step::CheckFile => {
                let path = request.file_ref.clone();
                let checked = tokio::task::spawn_blocking(move || {
                    let opened = check_file(&mut machine, Path::new(&path));
                    (machine, opened)
                })
                .await;
                let opened;
                (machine, opened) = checked
                    .map_err(|e| Misuse(format!("the photo file could not be checked: {e}")))?;
                file = opened?.map(tokio::fs::File::from_std);
            }
            Step::Progress { sent, total } => progress(sent, total),
            Step::ReadChunk { offset, len } => match read_range(file.as_mut(), offset, len).await {
                Ok(bytes) => {
                    chunk = bytes;
                    machine.chunk(&chunk)?;
                }
                Err(e) => machine.file_unreadable(&e.to_string())?,
            },
            Step::Send(req) => match send(client, &req, &chunk, options).await {
                Ok(answer) => machine.answer(&answer)?,
                Err(e) => machine.no_answer(&network(&e))?,
            },
            Step::Done => return Ok(UploadUpdate::Done),
            Step::Failed(failure) => {
                return Ok(UploadUpdate::Failed(UploadError {
                    kind: match failure.kind {
                        FailureKind::Transient => UploadErrorKind::Transient,
                        FailureKind::Unauthorized => UploadErrorKind::Unauthorized,
                        FailureKind::Refused => UploadErrorKind::Refused,
                        FailureKind::FileMissing => UploadErrorKind::FileMissing,
                    },
                    message: failure.message,
                }));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The network

/// Makes `req` (with `chunk` as its body when it is a `PATCH`); reads what the machine needs of
/// the answer.
async fn send(
    client: &reqwest::Client,
    req: &Request,
    chunk: &[u8],
    options: &UploadOptions,
) -> Result<Answer, reqwest::Error> {
    let method = Method::from_bytes(req.method.as_bytes()).unwrap_or(Method::POST);
    let mut builder = client.request(method, &req.url);
    for (name, value) in &req.headers {
        builder = builder.header(*name, value);
    }
    if req.has_chunk() {
        builder = builder.timeout(options.chunk_timeout).body(chunk.to_vec());
    }
    let response = builder.send().await?;
    let header = |name: &str| {
        let value = response.headers().get(name)?.to_str().ok()?;
        Some(value.to_owned())
    };
    let (status, upload_offset, retry_after) = (
        response.status().as_u16(),
        header(UPLOAD_OFFSET),
        header(reqwest::header::RETRY_AFTER.as_str()),
    );
    Ok(Answer {
        status,
        upload_offset,
        retry_after,
        body: read_limited(response, MAX_ANSWER_BODY).await?,
    })
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

/// A request that got no (complete) answer, said with its causes.
fn network(e: &reqwest::Error) -> String {
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
    message
}

// ---------------------------------------------------------------------------------------------
// The local file

/// Tells the machine about the photo at `path` (its presence, size and bytes); answers it
/// opened when the machine goes on.
fn check_file(
    machine: &mut kvits_upload::Upload,
    path: &Path,
) -> Result<Option<std::fs::File>, Misuse> {
    let shown = path.display();
    let unreadable = |machine: &mut kvits_upload::Upload, e: std::io::Error| match e.kind() {
        ErrorKind::NotFound | ErrorKind::PermissionDenied | ErrorKind::IsADirectory => {
            machine.file_missing(&format!("{shown} ({e})"))
        }
        _ => machine.file_unreadable(&format!("{shown}: {e}")),
    };
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) => return unreadable(machine, e).map(|()| None),
    };
    let meta = match file.metadata() {
        Ok(meta) => meta,
        Err(e) => return unreadable(machine, e).map(|()| None),
    };
    if !meta.is_file() {
        return machine
            .file_missing(&format!("{shown} (not a file)"))
            .map(|()| None);
    }
    machine.file_size(meta.len())?;
    if machine.outcome().is_some() {
        return Ok(None);
    }
    let mut block = vec![0u8; HASH_BLOCK];
    loop {
        match file.read(&mut block) {
            Ok(0) => break,
            Ok(n) => machine.file_bytes(&block[..n])?,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return unreadable(machine, e).map(|()| None),
        }
    }
    machine.file_end()?;
    Ok(Some(file))
}

/// Bytes `offset..offset + len` of the file, fewer if it ends sooner.
async fn read_range(
    file: Option<&mut tokio::fs::File>,
    offset: u64,
    len: u64,
) -> std::io::Result<Vec<u8>> {
    let file = file.ok_or_else(|| std::io::Error::other("the photo file is not open"))?;
    file.seek(std::io::SeekFrom::Start(offset)).await?;
    let mut chunk = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.take(len).read_to_end(&mut chunk).await?;
    Ok(chunk)
}
