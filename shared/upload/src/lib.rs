//! Kvits' resumable upload protocol, once, without I/O.
//!
//! [`Upload`] is a state machine for one receipt photo going to the sync server over the wire
//! contract in `kvits_protocol::upload` (tus 1.0-like). It never touches the network or the
//! file: it says what to do next ([`Upload::next_step`] → [`Step`]) and is told what happened. Two
//! drivers move it: the native runtime (`shared/native/src/upload.rs`, reqwest and `std::fs`)
//! and the web shell (`web-shell/src/core/upload.ts` through `shared/web`, `fetch` and Blob
//! slices). They keep only transport: sending a [`Request`], reading an [`Answer`], reading
//! bytes of the file, timeouts and aborts.
//!
//! One upload goes:
//!
//! 1. [`Step::CheckFile`]: the driver reports the local file — gone ([`Upload::file_missing`],
//!    [`FailureKind::FileMissing`]), its size ([`Upload::file_size`]), its bytes in blocks
//!    ([`Upload::file_bytes`], hashed incrementally, never the whole file in memory) and its end
//!    ([`Upload::file_end`]). A size or SHA-256 other than the core stated is
//!    [`FailureKind::Refused`] ("the photo file changed").
//! 2. `POST /v1/uploads` with `upload-length` and `upload-sha256`: the server answers that this
//!    user already holds the blob (`complete`: done, nothing sent) or the id and offset of this
//!    user's upload of it — a new one, or the one a killed app left half-way, which is how an
//!    upload survives a restart.
//! 3. [`Step::ReadChunk`] then `PATCH /v1/uploads/{id}`, chunk by chunk, with `upload-offset`
//!    and `upload-checksum: sha256 <base64>` of the bytes the driver read. A 204 carries the new
//!    offset; a 409 the right one (from the `upload-offset` header, else the body's
//!    `details.offset`, else asked with `HEAD /v1/uploads/{id}`); a 460 says the chunk was
//!    damaged on the way (sent again up to [`CHECKSUM_ATTEMPTS`] times in a row); a 404 says the
//!    upload went away (expired and swept, or finished by another call) and the upload starts
//!    over at 2, at most [`MAX_RESTARTS`] times. [`MAX_STALLS`] answers in a row that do not
//!    move the upload forward end it. The answer to the last chunk comes after the server
//!    checked the whole file and stored the blob.
//!
//! Progress ([`Step::Progress`]) is reported whenever the server acknowledges bytes: first the
//! offset it starts from, then after each chunk, last the total — or only `(total, total)` when
//! the blob is stored already.
//!
//! What an answer means comes from the one table, [`kvits_protocol::classify_answer`], read the
//! upload's way: 401 → [`FailureKind::Unauthorized`]; 426, 408, 425, 429, 5xx, 1xx/3xx and
//! 404/405 to the `POST` (no upload endpoint at that address) → [`FailureKind::Transient`],
//! since the photo is fine and [`FailureKind::Refused`] makes the core give it up; any other
//! 4xx (400, 413, 422 for a file that is not an image or does not hash right, ...) →
//! [`FailureKind::Refused`] with the server's message. No answer at all (no connection, a
//! timeout) is [`Upload::no_answer`]: transient. Nothing here panics on any answer.
//!
//! `HEAD /v1/blobs/{sha}` is not asked: it answers 200 for blobs the user may only *read*,
//! while the server accepts a receipt only when its author uploaded the bytes, which is exactly
//! when `POST` answers `complete`.

use base64::Engine;
use kvits_protocol::{
    AnswerClass, CHECKSUM_MISMATCH_STATUS, OFFSET_CONTENT_TYPE, PROTOCOL_HEADER, PROTOCOL_VERSION,
    UPLOAD_CHECKSUM, UPLOAD_LENGTH, UPLOAD_OFFSET, UPLOAD_SHA256, UploadStatus, answer_message,
    classify_answer, is_sha256_hex,
};
pub use kvits_protocol::{MAX_BLOB_BYTES, MAX_CHUNK_BYTES};
use sha2::{Digest, Sha256};

/// Bytes per `PATCH`: a processed receipt (≈ 100–600 KB) goes in one to three requests, and a
/// cut connection costs at most this much again.
pub const DEFAULT_CHUNK_SIZE: u64 = 256 * 1024;

/// How many times one chunk is sent while the server finds it damaged on the way (460).
pub const CHECKSUM_ATTEMPTS: u32 = 3;

/// Answers in a row that do not move the upload forward (409s, 460s) before giving up.
pub const MAX_STALLS: u32 = 8;

/// How often one upload starts over because the server's upload went away (404).
pub const MAX_RESTARTS: u32 = 3;

/// Most bytes of an answer's body a driver needs to read (the rest may be dropped).
pub const MAX_ANSWER_BODY: usize = 64 * 1024;

/// What one upload is: the parts of the core's `UploadRequest` the protocol needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Params {
    /// The server's base URL, e.g. `https://kvits.example` (a trailing `/` is dropped).
    pub server_url: String,
    /// Bearer token of the signed-in user.
    pub token: String,
    /// Lower-case hex SHA-256 of the whole file.
    pub sha256: String,
    /// Bytes in the file.
    pub size: u64,
}

/// How an upload is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// Bytes per `PATCH` (clamped to `1..=`[`MAX_CHUNK_BYTES`]).
    pub chunk_size: u64,
    /// Fail ([`FailureKind::Transient`]) instead of sending more than this many `PATCH`es — a
    /// cut connection on demand, for tests. `None`: no limit.
    pub max_chunks: Option<u64>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            chunk_size: DEFAULT_CHUNK_SIZE,
            max_chunks: None,
        }
    }
}

/// Why an upload failed, in the core's terms (`shared::effects::UploadErrorKind`; the drivers
/// map one onto the other).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// Try again later: no network, a timeout, a busy or broken server, an app update due.
    Transient,
    /// The token is no longer valid: sign in again.
    Unauthorized,
    /// The file or the server refused it for good: the core gives the photo up.
    Refused,
    /// The local file is gone.
    FileMissing,
}

impl FailureKind {
    /// The name of the core's `UploadErrorKind` variant.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Transient => "Transient",
            FailureKind::Unauthorized => "Unauthorized",
            FailureKind::Refused => "Refused",
            FailureKind::FileMissing => "FileMissing",
        }
    }
}

/// How an upload ended when it did not succeed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub kind: FailureKind,
    /// A sentence for the user (and the log).
    pub message: String,
}

fn failure(kind: FailureKind, message: impl Into<String>) -> Failure {
    Failure {
        kind,
        message: message.into(),
    }
}

fn transient(message: impl Into<String>) -> Failure {
    failure(FailureKind::Transient, message)
}

fn refused(message: impl Into<String>) -> Failure {
    failure(FailureKind::Refused, message)
}

/// Which request a [`Request`] is: the drivers give a chunk its own (longer) timeout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestKind {
    /// `POST /v1/uploads`: start or find the upload.
    Create,
    /// `HEAD /v1/uploads/{id}`: where the upload stands.
    Offset,
    /// `PATCH /v1/uploads/{id}`: the body is the chunk the driver read last.
    Chunk,
}

/// An HTTP request to make.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub kind: RequestKind,
    /// `POST`, `HEAD` or `PATCH`.
    pub method: &'static str,
    pub url: String,
    /// Every header to send, the token included.
    pub headers: Vec<(&'static str, String)>,
}

impl Request {
    /// Whether the body is the chunk the driver handed to [`Upload::chunk`] last.
    pub fn has_chunk(&self) -> bool {
        self.kind == RequestKind::Chunk
    }
}

/// The server's answer to a [`Request`], as much of it as the protocol reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// The `upload-offset` header, as sent.
    pub upload_offset: Option<String>,
    /// The `Retry-After` header, as sent.
    pub retry_after: Option<String>,
    /// The body, or its first [`MAX_ANSWER_BODY`] bytes.
    pub body: Vec<u8>,
}

/// What the driver does next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Check the local file: [`Upload::file_missing`], or [`Upload::file_size`], then its bytes
    /// in order with [`Upload::file_bytes`] and [`Upload::file_end`] (or
    /// [`Upload::file_unreadable`] on a read error).
    CheckFile,
    /// Tell the core: the server holds `sent` of `total` bytes.
    Progress { sent: u64, total: u64 },
    /// Read bytes `offset..offset + len` of the file and hand them to [`Upload::chunk`] (fewer
    /// when the file ends sooner).
    ReadChunk { offset: u64, len: u64 },
    /// Make this request and hand the answer to [`Upload::answer`], or say
    /// [`Upload::no_answer`].
    Send(Request),
    /// The server holds the blob.
    Done,
    /// The upload failed.
    Failed(Failure),
}

/// A driver called the machine at the wrong moment (a bug in the driver, not an answer of the
/// server's); the machine is left as it was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Misuse(pub String);

impl std::fmt::Display for Misuse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Misuse {}

#[derive(Clone, Debug)]
enum State {
    /// Waiting for the file's size, bytes and end.
    Check {
        size_seen: bool,
        read: u64,
        hasher: Sha256,
    },
    /// Waiting for the answer to `POST /v1/uploads`.
    Create,
    /// Waiting for the bytes of the chunk at `offset`.
    Read {
        id: String,
        offset: u64,
        len: u64,
    },
    /// Waiting for the answer to the `PATCH` of the chunk at `offset`.
    Patch {
        id: String,
        offset: u64,
        len: u64,
        checksum: String,
    },
    /// Waiting for the answer to `HEAD /v1/uploads/{id}`.
    Head {
        id: String,
    },
    Done,
    Failed(Failure),
}

/// One upload, from the file check to the stored blob. See the crate documentation.
#[derive(Clone, Debug)]
pub struct Upload {
    params: Params,
    /// `server_url` without a trailing slash.
    base: String,
    chunk_size: u64,
    max_chunks: Option<u64>,
    state: State,
    /// Progress not reported yet.
    progress: Option<(u64, u64)>,
    /// `POST`s answered with an upload so far (the first start and the restarts).
    starts: u32,
    /// `PATCH`es sent.
    patches: u64,
    /// The furthest offset acknowledged since the last start, and the answers since that did
    /// not move it.
    best: u64,
    stalls: u32,
    /// 460s in a row.
    damaged: u32,
}

impl Upload {
    /// A new upload; a request that cannot be right (no URL, a bad hash, an empty or too large
    /// file, a token that cannot be a header) is [`Step::Failed`] at once.
    pub fn new(params: Params, options: Options) -> Upload {
        let base = params.server_url.trim_end_matches('/').to_owned();
        let state = match check_params(&params, &base) {
            Ok(()) => State::Check {
                size_seen: false,
                read: 0,
                hasher: Sha256::new(),
            },
            Err(f) => State::Failed(f),
        };
        Upload {
            params,
            base,
            chunk_size: options.chunk_size.clamp(1, MAX_CHUNK_BYTES),
            max_chunks: options.max_chunks,
            state,
            progress: None,
            starts: 0,
            patches: 0,
            best: 0,
            stalls: 0,
            damaged: 0,
        }
    }

    /// What to do next. Asking again before telling the machine anything answers the same
    /// (except that a [`Step::Progress`] is given once).
    pub fn next_step(&mut self) -> Step {
        if let Some((sent, total)) = self.progress.take() {
            return Step::Progress { sent, total };
        }
        match &self.state {
            State::Check { .. } => Step::CheckFile,
            State::Create => Step::Send(self.create_request()),
            State::Read { offset, len, .. } => Step::ReadChunk {
                offset: *offset,
                len: *len,
            },
            State::Patch {
                id,
                offset,
                checksum,
                ..
            } => Step::Send(self.patch_request(id, *offset, checksum)),
            State::Head { id } => Step::Send(self.request(RequestKind::Offset, "HEAD", id)),
            State::Done => Step::Done,
            State::Failed(f) => Step::Failed(f.clone()),
        }
    }

    /// How the upload ended, once it has.
    pub fn outcome(&self) -> Option<Result<(), Failure>> {
        match &self.state {
            State::Done => Some(Ok(())),
            State::Failed(f) => Some(Err(f.clone())),
            _ => None,
        }
    }

    // -----------------------------------------------------------------------------------------
    // The local file

    /// The file is not there (or not a file, or may not be read): `what` names it and why.
    pub fn file_missing(&mut self, what: &str) -> Result<(), Misuse> {
        self.expect_check("file_missing")?;
        self.fail(failure(
            FailureKind::FileMissing,
            format!("the photo file {what} is gone"),
        ));
        Ok(())
    }

    /// Reading the file failed for another reason (a transient one): `what` says how. Also
    /// while a chunk is read.
    pub fn file_unreadable(&mut self, what: &str) -> Result<(), Misuse> {
        if !matches!(self.state, State::Check { .. } | State::Read { .. }) {
            return Err(self.misuse("file_unreadable"));
        }
        self.fail(transient(format!(
            "the photo file could not be read: {what}"
        )));
        Ok(())
    }

    /// The file's size, before its bytes.
    pub fn file_size(&mut self, size: u64) -> Result<(), Misuse> {
        let expected = self.params.size;
        let State::Check { size_seen, .. } = &mut self.state else {
            return Err(self.misuse("file_size"));
        };
        *size_seen = true;
        if size != expected {
            self.fail(refused(format!(
                "the photo file changed (it has {size} bytes, {expected} were expected)"
            )));
        }
        Ok(())
    }

    /// The next bytes of the file, in order from the start.
    pub fn file_bytes(&mut self, bytes: &[u8]) -> Result<(), Misuse> {
        let State::Check { read, hasher, .. } = &mut self.state else {
            return Err(self.misuse("file_bytes"));
        };
        hasher.update(bytes);
        *read = read.saturating_add(bytes.len() as u64);
        Ok(())
    }

    /// The file ended: it must be the one the core described.
    pub fn file_end(&mut self) -> Result<(), Misuse> {
        let State::Check {
            size_seen,
            read,
            hasher,
        } = &self.state
        else {
            return Err(self.misuse("file_end"));
        };
        if !size_seen {
            return Err(Misuse("file_end before file_size".into()));
        }
        let sha = to_hex(&hasher.clone().finalize());
        if *read != self.params.size || sha != self.params.sha256 {
            self.fail(refused(
                "the photo file changed (its content is not the one taken)",
            ));
        } else {
            self.state = State::Create;
        }
        Ok(())
    }

    /// The bytes asked for by [`Step::ReadChunk`]; the next step sends them.
    pub fn chunk(&mut self, bytes: &[u8]) -> Result<(), Misuse> {
        let State::Read { id, offset, len } = &self.state else {
            return Err(self.misuse("chunk"));
        };
        let (offset, len) = (*offset, *len);
        let len_usize = usize::try_from(len).unwrap_or(usize::MAX);
        if bytes.len() < len_usize {
            self.fail(refused(
                "the photo file changed (it became shorter during the upload)",
            ));
            return Ok(());
        }
        let digest = Sha256::digest(&bytes[..len_usize]);
        let checksum = format!(
            "sha256 {}",
            base64::engine::general_purpose::STANDARD.encode(digest)
        );
        self.patches += 1;
        self.state = State::Patch {
            id: id.clone(),
            offset,
            len,
            checksum,
        };
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // Answers

    /// The request of the last [`Step::Send`] got no answer (no connection, a timeout, a cut):
    /// `what` says what happened. The upload fails as transient; the next call resumes.
    pub fn no_answer(&mut self, what: &str) -> Result<(), Misuse> {
        self.expect_waiting("no_answer")?;
        self.fail(transient(what));
        Ok(())
    }

    /// The answer to the request of the last [`Step::Send`].
    pub fn answer(&mut self, answer: &Answer) -> Result<(), Misuse> {
        self.expect_waiting("answer")?;
        match std::mem::replace(&mut self.state, State::Create) {
            State::Create => self.created(answer),
            State::Patch {
                id, offset, len, ..
            } => self.patched(answer, id, offset, len),
            State::Head { id } => self.headed(answer, id),
            other => self.state = other,
        }
        Ok(())
    }

    /// The answer to `POST /v1/uploads`.
    fn created(&mut self, answer: &Answer) {
        let size = self.params.size;
        if !matches!(answer.status, 200 | 201) {
            return self.fail(refusal(answer, RequestKind::Create));
        }
        let status: UploadStatus = match serde_json::from_slice(&answer.body) {
            Ok(s) => s,
            Err(e) => {
                return self.fail(transient(format!(
                    "the server's answer to starting the upload is not understood: {e}"
                )));
            }
        };
        if status.complete {
            self.progress = Some((size, size));
            self.state = State::Done;
            return;
        }
        if status.length != size || status.offset >= size {
            return self.fail(transient(format!(
                "the server describes the upload as {} of {} bytes; the photo has {size}",
                status.offset, status.length
            )));
        }
        self.starts += 1;
        (self.best, self.stalls, self.damaged) = (status.offset, 0, 0);
        self.progress = Some((status.offset, size));
        self.read_at(status.upload_id.to_string(), status.offset);
    }

    /// The answer to a `PATCH` of `len` bytes at `offset`.
    fn patched(&mut self, answer: &Answer, id: String, offset: u64, len: u64) {
        let size = self.params.size;
        let stated = number(answer.upload_offset.as_deref());
        match answer.status {
            200 | 204 => {
                let now = match stated {
                    Some(o) if o <= size => o,
                    Some(o) => {
                        return self.fail(transient(format!(
                            "the server acknowledged byte {o} of a {size}-byte photo"
                        )));
                    }
                    None => offset.saturating_add(len),
                };
                self.damaged = 0;
                self.progress = Some((now, size));
                if now == size {
                    self.state = State::Done;
                } else {
                    self.moved(id, now);
                }
            }
            409 => {
                // Someone (an earlier, cut call) got elsewhere: continue where the server is.
                match stated.or_else(|| offset_in_body(&answer.body)) {
                    Some(right) => self.continue_at(id, right),
                    None => self.state = State::Head { id },
                }
            }
            CHECKSUM_MISMATCH_STATUS => {
                self.damaged += 1;
                if self.damaged >= CHECKSUM_ATTEMPTS {
                    return self.fail(transient(format!(
                        "a chunk arrived damaged {} times in a row (a bad network?)",
                        self.damaged
                    )));
                }
                let now = match stated {
                    Some(o) if o != offset && o < size => {
                        self.progress = Some((o, size));
                        o
                    }
                    _ => offset,
                };
                self.moved(id, now);
            }
            404 => self.restart(),
            _ => self.fail(refusal(answer, RequestKind::Chunk)),
        }
    }

    /// The answer to `HEAD /v1/uploads/{id}`.
    fn headed(&mut self, answer: &Answer, id: String) {
        match answer.status {
            200 => match number(answer.upload_offset.as_deref()) {
                Some(right) => self.continue_at(id, right),
                None => self.fail(transient("the server did not say where the upload stands")),
            },
            404 => self.restart(),
            _ => self.fail(refusal(answer, RequestKind::Offset)),
        }
    }

    /// The server says the upload stands at `right` (a 409, or asked).
    fn continue_at(&mut self, id: String, right: u64) {
        let size = self.params.size;
        if right > size {
            return self.fail(transient(format!(
                "the server expects byte {right} of a {size}-byte photo"
            )));
        }
        self.progress = Some((right, size));
        self.moved(id, right);
    }

    /// An answer left the upload at `offset`: on to the next chunk, unless it stalls.
    fn moved(&mut self, id: String, offset: u64) {
        if offset > self.best {
            (self.best, self.stalls) = (offset, 0);
        } else {
            self.stalls += 1;
            if self.stalls >= MAX_STALLS {
                return self.fail(transient(format!(
                    "the upload made no progress in {} tries, at byte {offset}",
                    self.stalls
                )));
            }
        }
        self.read_at(id, offset);
    }

    /// The next chunk to send starts at `offset`.
    fn read_at(&mut self, id: String, offset: u64) {
        let size = self.params.size;
        if offset >= size {
            return self.fail(transient(format!(
                "the server holds all {size} bytes of the upload but has not stored it"
            )));
        }
        if let Some(max) = self.max_chunks
            && self.patches >= max
        {
            return self.fail(transient(format!(
                "stopped after {max} chunk(s), at byte {offset} of {size}"
            )));
        }
        let len = self.chunk_size.min(size - offset);
        self.state = State::Read { id, offset, len };
    }

    /// The upload went away (404): start over with a `POST`, a few times.
    fn restart(&mut self) {
        if self.starts > MAX_RESTARTS {
            return self.fail(transient(
                "the server kept losing this upload; it will be tried again",
            ));
        }
        self.state = State::Create;
    }

    fn fail(&mut self, failure: Failure) {
        self.state = State::Failed(failure);
    }

    // -----------------------------------------------------------------------------------------
    // Requests

    fn headers(&self) -> Vec<(&'static str, String)> {
        vec![
            ("authorization", format!("Bearer {}", self.params.token)),
            (PROTOCOL_HEADER, PROTOCOL_VERSION.to_string()),
        ]
    }

    fn create_request(&self) -> Request {
        let mut headers = self.headers();
        headers.push((UPLOAD_LENGTH, self.params.size.to_string()));
        headers.push((UPLOAD_SHA256, self.params.sha256.clone()));
        Request {
            kind: RequestKind::Create,
            method: "POST",
            url: format!("{}/v1/uploads", self.base),
            headers,
        }
    }

    fn request(&self, kind: RequestKind, method: &'static str, id: &str) -> Request {
        Request {
            kind,
            method,
            url: format!("{}/v1/uploads/{id}", self.base),
            headers: self.headers(),
        }
    }

    fn patch_request(&self, id: &str, offset: u64, checksum: &str) -> Request {
        let mut request = self.request(RequestKind::Chunk, "PATCH", id);
        request
            .headers
            .push(("content-type", OFFSET_CONTENT_TYPE.to_owned()));
        request.headers.push((UPLOAD_OFFSET, offset.to_string()));
        request.headers.push((UPLOAD_CHECKSUM, checksum.to_owned()));
        request
    }

    // -----------------------------------------------------------------------------------------
    // Misuse

    fn misuse(&self, call: &str) -> Misuse {
        let now = match &self.state {
            State::Check { .. } => "checking the file",
            State::Create => "waiting for the answer to POST",
            State::Read { .. } => "waiting for a chunk's bytes",
            State::Patch { .. } => "waiting for the answer to PATCH",
            State::Head { .. } => "waiting for the answer to HEAD",
            State::Done => "done",
            State::Failed(_) => "failed",
        };
        Misuse(format!("{call} does not fit: the upload is {now}"))
    }

    fn expect_check(&self, call: &str) -> Result<(), Misuse> {
        match self.state {
            State::Check { .. } => Ok(()),
            _ => Err(self.misuse(call)),
        }
    }

    fn expect_waiting(&self, call: &str) -> Result<(), Misuse> {
        match self.state {
            State::Create | State::Patch { .. } | State::Head { .. } => Ok(()),
            _ => Err(self.misuse(call)),
        }
    }
}

/// Checks what can be checked before any I/O.
fn check_params(params: &Params, base: &str) -> Result<(), Failure> {
    let (size, sha256) = (params.size, params.sha256.as_str());
    let lower = base.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    if !rest.is_some_and(|r| !r.is_empty() && !r.bytes().any(|b| b <= b' ')) {
        return Err(transient(format!(
            "the server address {:?} is not a URL",
            params.server_url
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
    // A header value: visible ASCII and spaces only.
    if params.token.is_empty() || !params.token.bytes().all(|b| (b' '..=b'~').contains(&b)) {
        return Err(failure(
            FailureKind::Unauthorized,
            "the session token is not valid; sign in again",
        ));
    }
    Ok(())
}

/// An answer the protocol does not expect at this step, read with the one table.
fn refusal(answer: &Answer, to: RequestKind) -> Failure {
    let status = answer.status;
    let said = answer_message(&answer.body);
    let with_said = |prefix: String| match &said {
        Some(m) => format!("{prefix}: {m}"),
        None => prefix,
    };
    match classify_answer(status, answer.retry_after.as_deref()) {
        AnswerClass::SignInAgain => failure(
            FailureKind::Unauthorized,
            said.unwrap_or_else(|| "sign in again".to_owned()),
        ),
        // No upload endpoint at that address (a wrong URL, a captive portal): not the photo's
        // fault, and an update of the app is not either.
        AnswerClass::Permanent if to == RequestKind::Create && matches!(status, 404 | 405) => {
            transient(with_said(format!("the server said {status}")))
        }
        AnswerClass::UpdateApp => transient(with_said(format!(
            "the server said {status} (the app must be updated)"
        ))),
        AnswerClass::Permanent => {
            refused(said.unwrap_or_else(|| format!("the server refused it ({status})")))
        }
        AnswerClass::Retry { .. } if status >= 500 => {
            transient(with_said(format!("the server failed ({status})")))
        }
        AnswerClass::Retry { .. } if status >= 400 => {
            transient(with_said(format!("the server said {status}")))
        }
        AnswerClass::Retry { .. } | AnswerClass::Success => transient(with_said(format!(
            "unexpected answer from the server ({status})"
        ))),
    }
}

/// A header's whole number: digits, perhaps with spaces around.
fn number(value: Option<&str>) -> Option<u64> {
    let v = value?.trim();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok()
}

/// `details.offset` of a 409's `{code, message, details}` body.
fn offset_in_body(body: &[u8]) -> Option<u64> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    value.get("details")?.get("offset")?.as_u64()
}

fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

#[cfg(test)]
mod tests;
